import { REVOCATION_KINDS, type RevocationKind } from "../../../../shared/contracts/revocation.ts";

/** Slots start at this many and double when three quarters are taken. */
const MIN_CAPACITY = 16;
/** Seconds as the table stores them (unsigned 32 bits: good until 2106). */
const MAX_SECONDS = 0xffff_ffff;
/** Words per slot: the key's high half, its low half (kind in the low 3 bits), expiry, revoked-at. */
const STRIDE = 4;
const HI = 0;
const LO = 1;
/** Seconds; 0 marks a free slot (an entry always expires after 1970). */
const EXPIRES = 2;
/** Tokens issued at or before this (s) match; for jti, session and grant every token does. */
const REVOKED = 3;
const KIND_BITS = 0b111;

const KIND_INDEX: Readonly<Record<RevocationKind, number>> = Object.fromEntries(
  REVOCATION_KINDS.map((kind, i) => [kind, i]),
) as Record<RevocationKind, number>;

/** A value's key, written by `hash` (one pair per table: no allocation per lookup). */
interface Key {
  hi: number;
  lo: number;
}

/**
 * The key of (kind, value): two multiply-xorshift lanes over the value's
 * UTF-16 code units (cyrb53's mixing without its 53-bit fold), seeded with
 * the kind and the table's random seed — 61 bits of hash and the kind in
 * the low 3 bits, so one comparison of both words also compares the kind.
 */
function hash(seed: number, kind: number, value: string, out: Key): void {
  let h1 = 0xdeadbeef ^ seed ^ kind;
  let h2 = 0x41c6ce57 ^ seed ^ Math.imul(kind + 1, 0x9e3779b1);
  for (let i = 0; i < value.length; i++) {
    const ch = value.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  out.hi = h1 >>> 0;
  out.lo = ((h2 & ~KIND_BITS) | kind) >>> 0;
}

function seconds(value: number): number {
  return Math.min(MAX_SECONDS, Math.max(0, Math.floor(value)));
}

/**
 * The revocation entries of one org as one open-addressing hash table in a
 * single typed array: per entry four 32-bit words — a 61-bit key of the
 * value with its kind, when it expires, when it was revoked — 16 bytes in
 * one cache line, outside the JavaScript heap. A Map of strings costs about
 * 100 bytes an entry on the heap (the value's string, a boxed expiry, the
 * map's own slots), and 100 000 such objects are what every full garbage
 * collection of the isolate walks; a typed array is one object whatever it
 * holds. The values themselves are not kept: two different values of a
 * kind share a key with probability 2⁻⁶¹ per pair, so at 100 000 entries a
 * token is refused wrongly with probability about 4·10⁻¹⁴ per check — a
 * refusal, never an acceptance.
 *
 * A lookup hashes the claim and probes from its key's slot, usually one
 * cache line: O(1) in the number of entries. Kinds the org has no entry of
 * are not hashed at all (`has`).
 */
export class RevocationTable {
  private slots: Uint32Array;
  private mask: number;
  private used = 0;
  private readonly perKind = new Uint32Array(REVOCATION_KINDS.length);
  private readonly key: Key = { hi: 0, lo: 0 };
  /**
   * Random per table, so which values share a probe run cannot be worked out
   * from outside (hash flooding). Drawn here, not at module scope: the
   * Workers runtime allows random values only inside a handler.
   */
  private readonly seed = crypto.getRandomValues(new Uint32Array(1))[0] as number;

  constructor(expectedEntries = 0) {
    const capacity = capacityFor(expectedEntries);
    this.slots = new Uint32Array(capacity * STRIDE);
    this.mask = capacity - 1;
  }

  /** Entries held, expired ones included until `dropExpired`. */
  get size(): number {
    return this.used;
  }

  /** Whether any entry of the kind is held: a check skips hashing a claim for kinds with none. */
  has(kind: RevocationKind): boolean {
    return (this.perKind[KIND_INDEX[kind]] as number) > 0;
  }

  /**
   * Records an entry; one for the same (kind, value) keeps the later of each
   * time (a repeated revocation moves a cut-off forward, as the object does).
   * `revokedAt` null: the entry matches whenever a token was issued (jti,
   * session, grant).
   */
  add(kind: RevocationKind, value: string, revokedAt: number | null, expiresAt: number): void {
    hash(this.seed, KIND_INDEX[kind], value, this.key);
    const at = revokedAt === null ? MAX_SECONDS : seconds(revokedAt);
    const until = Math.max(1, seconds(expiresAt));
    const slots = this.slots;
    const base = this.find(this.key.hi, this.key.lo);
    if (slots[base + EXPIRES] !== 0) {
      slots[base + REVOKED] = Math.max(slots[base + REVOKED] as number, at);
      slots[base + EXPIRES] = Math.max(slots[base + EXPIRES] as number, until);
      return;
    }
    this.place(base, this.key.hi, this.key.lo, until, at);
    // Nothing is dropped on growth (0: every entry expires after it).
    if (this.used * 4 > (this.mask + 1) * 3) this.rebuild(0, (this.mask + 1) * 2);
  }

  /** Whether an unexpired entry of (kind, value) cuts off a token issued at `issuedAt` (s). */
  matches(kind: RevocationKind, value: string, issuedAt: number, nowSeconds: number): boolean {
    const k = KIND_INDEX[kind];
    if (this.perKind[k] === 0) return false;
    hash(this.seed, k, value, this.key);
    const base = this.find(this.key.hi, this.key.lo);
    return (this.slots[base + EXPIRES] as number) > nowSeconds && issuedAt <= (this.slots[base + REVOKED] as number);
  }

  /**
   * Whether an unexpired entry of (kind, value) is held, whatever its second:
   * for a table whose second is not a cut-off but a token's `iat`
   * (revocation-index.ts keeps a client's RFC 7009 jti entries so).
   */
  holds(kind: RevocationKind, value: string, nowSeconds: number): boolean {
    const k = KIND_INDEX[kind];
    if (this.perKind[k] === 0) return false;
    hash(this.seed, k, value, this.key);
    return (this.slots[this.find(this.key.hi, this.key.lo) + EXPIRES] as number) > nowSeconds;
  }

  /** Forgets the entries expired at `nowSeconds`, rebuilding the table (an open-addressing table has no cheap delete). */
  dropExpired(nowSeconds: number): void {
    this.dropUpTo(-1, nowSeconds);
  }

  /**
   * Forgets the entries whose second is at or before `second` (-1: none)
   * and those expired at `nowSeconds`, rebuilding the table. Two values
   * that share a key share one slot holding the later of their seconds, so
   * a slot goes only when every value in it is at or before `second`.
   */
  dropUpTo(second: number, nowSeconds: number): void {
    let live = 0;
    for (let base = 0; base < this.slots.length; base += STRIDE) {
      const until = this.slots[base + EXPIRES] as number;
      if (until !== 0 && until > nowSeconds && (this.slots[base + REVOKED] as number) > second) live++;
    }
    if (live !== this.used) this.rebuild(nowSeconds, capacityFor(live), second);
  }

  /** The first word of the slot holding the key, or of the free slot where it would go. */
  private find(hi: number, lo: number): number {
    const slots = this.slots;
    let slot = hi & this.mask;
    for (;;) {
      const base = slot * STRIDE;
      if (slots[base + EXPIRES] === 0) return base;
      if (slots[base + HI] === hi && slots[base + LO] === lo) return base;
      slot = (slot + 1) & this.mask;
    }
  }

  private place(base: number, hi: number, lo: number, expiresAt: number, revokedAt: number): void {
    const slots = this.slots;
    slots[base + HI] = hi;
    slots[base + LO] = lo;
    slots[base + EXPIRES] = expiresAt;
    slots[base + REVOKED] = revokedAt;
    this.used++;
    const kind = lo & KIND_BITS;
    this.perKind[kind] = (this.perKind[kind] as number) + 1;
  }

  /** Moves every entry expiring after `nowSeconds` with its second after `second` into a fresh array of `capacity` slots. */
  private rebuild(nowSeconds: number, capacity: number, second = -1): void {
    const old = this.slots;
    this.slots = new Uint32Array(capacity * STRIDE);
    this.mask = capacity - 1;
    this.used = 0;
    this.perKind.fill(0);
    for (let base = 0; base < old.length; base += STRIDE) {
      const until = old[base + EXPIRES] as number;
      if (until === 0 || until <= nowSeconds || (old[base + REVOKED] as number) <= second) continue;
      const hi = old[base + HI] as number;
      const lo = old[base + LO] as number;
      this.place(this.find(hi, lo), hi, lo, until, old[base + REVOKED] as number);
    }
  }
}

/** The smallest power of two with `entries` at most three quarters of it. */
function capacityFor(entries: number): number {
  let capacity = MIN_CAPACITY;
  while (capacity * 3 < entries * 4) capacity *= 2;
  return capacity;
}
