import { REVOCATION_KINDS, type RevocationKind } from "../../../../shared/contracts/revocation.ts";

/** Slots start at this many and double when three quarters are taken. */
const MIN_CAPACITY = 16;
/** Seconds as the table stores them (unsigned 32 bits: good until 2106). */
const MAX_SECONDS = 0xffff_ffff;

const KIND_INDEX: Readonly<Record<RevocationKind, number>> = Object.fromEntries(
  REVOCATION_KINDS.map((kind, i) => [kind, i]),
) as Record<RevocationKind, number>;

/** The two 32-bit halves of a value's key, written by `hash` (one pair per table: no allocation per lookup). */
interface Key {
  hi: number;
  lo: number;
}

/**
 * 64 bits of (kind, value): two multiply-xorshift lanes over the value's
 * UTF-16 code units (cyrb53's mixing without its 53-bit fold), seeded with
 * the kind and the table's random seed.
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
  out.hi = h1 | 0;
  out.lo = h2 | 0;
}

function seconds(value: number): number {
  return Math.min(MAX_SECONDS, Math.max(0, Math.floor(value)));
}

/**
 * The revocation entries of one org as one open-addressing hash table in
 * typed arrays: per entry a 64-bit key of (kind, value), its kind, when it
 * was revoked and when it expires — 18 bytes a slot, outside the JavaScript
 * heap. A Map of strings costs about 100 bytes an entry on the heap (the
 * value's string, a boxed expiry, the map's own slots), and 100 000 such
 * objects are what every full garbage collection of the isolate walks; a
 * typed array is one object whatever it holds. The values themselves are
 * not kept: two different values share a key with probability 2⁻⁶⁴ per
 * pair, so at 100 000 entries a token is refused wrongly with probability
 * about 5·10⁻¹⁵ per check — a refusal, never an acceptance.
 *
 * A lookup hashes the claim (tens of nanoseconds) and probes from its key's
 * slot: O(1) in the number of entries. Kinds the org has no entry of are
 * not hashed at all (`has`).
 */
export class RevocationTable {
  private keyHi: Int32Array;
  private keyLo: Int32Array;
  private kinds: Uint8Array;
  /** Tokens issued at or before this (s) match; for jti, session and grant every token does. */
  private revokedAt: Uint32Array;
  /** Seconds; 0 marks a free slot (an entry always expires after 1970). */
  private expiresAt: Uint32Array;
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
    let capacity = MIN_CAPACITY;
    while (capacity * 3 < expectedEntries * 4) capacity *= 2;
    this.keyHi = new Int32Array(capacity);
    this.keyLo = new Int32Array(capacity);
    this.kinds = new Uint8Array(capacity);
    this.revokedAt = new Uint32Array(capacity);
    this.expiresAt = new Uint32Array(capacity);
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
    const k = KIND_INDEX[kind];
    hash(this.seed, k, value, this.key);
    const at = revokedAt === null ? MAX_SECONDS : seconds(revokedAt);
    const until = Math.max(1, seconds(expiresAt));
    const slot = this.find(k, this.key.hi, this.key.lo);
    if (this.expiresAt[slot] !== 0) {
      this.revokedAt[slot] = Math.max(this.revokedAt[slot] as number, at);
      this.expiresAt[slot] = Math.max(this.expiresAt[slot] as number, until);
      return;
    }
    this.place(slot, k, this.key.hi, this.key.lo, at, until);
    // Nothing is dropped on growth (0: every entry expires after it).
    if (this.used * 4 > (this.mask + 1) * 3) this.rebuild(0, (this.mask + 1) * 2);
  }

  /** Whether an unexpired entry of (kind, value) cuts off a token issued at `issuedAt` (s). */
  matches(kind: RevocationKind, value: string, issuedAt: number, nowSeconds: number): boolean {
    const k = KIND_INDEX[kind];
    if (this.perKind[k] === 0) return false;
    hash(this.seed, k, value, this.key);
    const slot = this.find(k, this.key.hi, this.key.lo);
    return (this.expiresAt[slot] as number) > nowSeconds && issuedAt <= (this.revokedAt[slot] as number);
  }

  /** Forgets the entries expired at `nowSeconds`, rebuilding the table (an open-addressing table has no cheap delete). */
  dropExpired(nowSeconds: number): void {
    let live = 0;
    for (let i = 0; i <= this.mask; i++) {
      const until = this.expiresAt[i] as number;
      if (until !== 0 && until > nowSeconds) live++;
    }
    if (live === this.used) return;
    let capacity = MIN_CAPACITY;
    while (capacity * 3 < live * 4) capacity *= 2;
    this.rebuild(nowSeconds, capacity);
  }

  /** The slot holding the key, or the free slot where it would go. */
  private find(kind: number, hi: number, lo: number): number {
    let slot = hi & this.mask;
    for (;;) {
      if (this.expiresAt[slot] === 0) return slot;
      if (this.keyHi[slot] === hi && this.keyLo[slot] === lo && this.kinds[slot] === kind) return slot;
      slot = (slot + 1) & this.mask;
    }
  }

  private place(slot: number, kind: number, hi: number, lo: number, revokedAt: number, expiresAt: number): void {
    this.keyHi[slot] = hi;
    this.keyLo[slot] = lo;
    this.kinds[slot] = kind;
    this.revokedAt[slot] = revokedAt;
    this.expiresAt[slot] = expiresAt;
    this.used++;
    this.perKind[kind] = (this.perKind[kind] as number) + 1;
  }

  /** Moves every entry expiring after `nowSeconds` into fresh arrays of `capacity` slots. */
  private rebuild(nowSeconds: number, capacity: number): void {
    const { keyHi, keyLo, kinds, revokedAt, expiresAt } = this;
    this.keyHi = new Int32Array(capacity);
    this.keyLo = new Int32Array(capacity);
    this.kinds = new Uint8Array(capacity);
    this.revokedAt = new Uint32Array(capacity);
    this.expiresAt = new Uint32Array(capacity);
    this.mask = capacity - 1;
    this.used = 0;
    this.perKind.fill(0);
    for (let i = 0; i < expiresAt.length; i++) {
      const until = expiresAt[i] as number;
      if (until === 0 || until <= nowSeconds) continue;
      const hi = keyHi[i] as number;
      const lo = keyLo[i] as number;
      const kind = kinds[i] as number;
      this.place(this.find(kind, hi, lo), kind, hi, lo, revokedAt[i] as number, until);
    }
  }
}
