import type {
  RevocationKind,
  RevocationLogEvent,
  RevocationSnapshot,
} from "../../../../shared/contracts/revocation.ts";
import type { ActorClaim, AccessTokenClaims } from "../../../../shared/contracts/tokens.ts";
import { lastGrantEntryCoveredBy } from "../../../../shared/revocation/grant-entry-fold.ts";
import { RevocationTable } from "./revocation-table.ts";

/** Expired entries are dropped at most this often (a check ignores them meanwhile). */
const SWEEP_EVERY_MS = 60_000;

/**
 * One org's revocations as an isolate holds them: one hash table of every
 * kind (revocation-table.ts: typed arrays, off the JavaScript heap), so a
 * check costs the same with 0 or 100 000 entries, and `version`, the last
 * revocation of the org's Durable Object it reflects. It is brought forward
 * by applying the object's events in order (a sync delta or the push
 * channel), never rebuilt from the whole list except from a snapshot.
 *
 * An entry past its `expiresAt` no longer matches: by then every token it
 * could match has expired too (the object computes it from the longest
 * token lifetime plus the clock tolerance), which is why the object may
 * prune it and the view may forget it without being told.
 *
 * A jti entry recorded through RFC 7009 says whose token it is (its
 * `client_id` and `iat`) and is held in that client's own table, with the
 * token's `iat` as its second, not in the shared one (whose hashes say
 * nothing of the client). So when a `client` cut-off arrives — the fold the
 * object makes of a client's revocations past its cap (docs/revocation.md,
 * "Bounds"), or any other — the view forgets that client's entries issued
 * at or before it: the cut-off refuses each of those tokens itself (same
 * client, `iat` ≤ `revoked_at`) and lives at least as long. A view that
 * follows the events then holds what the object's snapshot holds, instead
 * of every jti its channel ever delivered until each expires. A token is
 * looked up in its own `client_id`'s table, the client the entry was
 * recorded for from the same signed claims. Entries without that
 * attribution (other kinds, operators' jti revocations, older events) stay
 * in the shared table until they expire.
 *
 * Likewise a browser `grant` entry says whose grant it is (its `subject`,
 * the person, and `client_id`) and is held in that person's own table, at
 * the second it was recorded: when a `subject` cut-off of that person
 * arrives — the fold the object makes of one person's browser-grant
 * entries past their cap (MAX_LIVE_BROWSER_GRANT_REVOCATIONS_PER_PERSON),
 * or any other — the view forgets the person's grant entries the cut-off
 * covers with the clock tolerance to spare (recorded at or before
 * lastGrantEntryCoveredBy(revoked_at), shared/revocation/grant-entry-fold.ts),
 * as the object deletes them in the same transaction; younger ones stay,
 * since a token of their grant may carry an `iat` past the cut-off's
 * second (workers/org-state/src/browser-grant-revocation.ts explains why). A token's `grant_id` and every grant of its
 * `grant_chain` are looked up in the table of its own `sub`, the person the
 * entry was recorded for (the grant's refresh token rows' `user_id`, which
 * the provider signs as `sub`, and which every token made from one of its
 * tokens keeps: token exchange and ID-JAG carry the subject token's `sub`).
 */
export class OrgRevocations {
  /** When (this isolate's clock, ms) the object was last known to be at `version`; 0: never. */
  confirmedAt = 0;
  /**
   * Push channels that have synced and follow every policy switch
   * (revocation-channel.ts). While one does, the policy version it delivers
   * is the newest, and a pull that was read before a switch must not put
   * the older one back.
   */
  policyChannels = 0;
  private readonly entries: RevocationTable;
  /** RFC 7009 jti entries per client, each at its token's `iat`; a client without any has no table. */
  private readonly byClient = new Map<string, RevocationTable>();
  /** Browser grant entries per person, each at the second it was recorded; a person without any has no table. */
  private readonly bySubject = new Map<string, RevocationTable>();
  private nextSweep = 0;
  readonly orgId: string;
  version: number;
  /** The org's current policy version (policy/policy-store.ts); null: none published. */
  policyVersion: number | null;

  // Plain fields, no parameter properties: the bench imports this file into Node (type stripping only).
  private constructor(orgId: string, version: number, policyVersion: number | null, expectedEntries: number) {
    this.orgId = orgId;
    this.version = version;
    this.policyVersion = policyVersion;
    this.entries = new RevocationTable(expectedEntries);
  }

  static fromSnapshot(snapshot: RevocationSnapshot): OrgRevocations {
    const view = new OrgRevocations(snapshot.orgId, snapshot.version, snapshot.policyVersion, snapshot.entries.length);
    for (const entry of snapshot.entries) {
      const token = attribution(entry.kind, entry.clientId, entry.issuedAt);
      const person = grantAttribution(entry.kind, entry.clientId, entry.subject);
      if (token !== null) {
        view.addClientJti(token.clientId, entry.value, token.issuedAt, entry.expiresAt);
      } else if (person !== null) {
        view.addSubjectGrant(person, entry.value, entry.revokedAt, entry.expiresAt);
      } else {
        view.add(entry.kind, entry.value, entry.revokedAt, entry.expiresAt);
      }
    }
    view.nextSweep = Date.now() + SWEEP_EVERY_MS;
    return view;
  }

  /** Entries held, of every client's table too (expired ones included until the next sweep). */
  get size(): number {
    let size = this.entries.size;
    for (const table of this.byClient.values()) size += table.size;
    for (const table of this.bySubject.values()) size += table.size;
    return size;
  }

  /**
   * Applies the object's events in seq order; ones this view already
   * reflects are skipped. Answers false, applying nothing further, at a gap:
   * the caller must then sync from the object.
   */
  apply(events: readonly RevocationLogEvent[]): boolean {
    for (const event of events) {
      if (event.seq <= this.version) continue;
      if (event.seq !== this.version + 1) return false;
      const token = attribution(event.kind, event.client_id, event.issued_at);
      const person = grantAttribution(event.kind, event.client_id, event.subject);
      if (token !== null) {
        this.addClientJti(token.clientId, event.value, token.issuedAt, event.expires_at);
      } else if (person !== null) {
        this.addSubjectGrant(person, event.value, event.revoked_at, event.expires_at);
      } else {
        this.add(event.kind, event.value, event.revoked_at, event.expires_at);
      }
      if (event.kind === "client") this.dropCovered(this.byClient, event.value, event.revoked_at);
      if (event.kind === "subject") {
        this.dropCovered(this.bySubject, event.value, lastGrantEntryCoveredBy(event.revoked_at));
      }
      this.version = event.seq;
    }
    return true;
  }

  /**
   * Whether any entry matches the token, by the rules of
   * shared/revocation/is-token-revoked.ts: its jti, its session, the grant
   * it was minted under, or a subject, client (the token's own or any along
   * its `act` chain) or org cut-off made at or after it was issued.
   */
  matches(claims: AccessTokenClaims, nowSeconds: number): boolean {
    const entries = this.entries;
    // Runs on every request: no closure, no array, nothing hashed for a kind the org has no entry of.
    if (this.byClient.size > 0) {
      // An RFC 7009 entry sits in the table of the client it was recorded for: the token's own.
      const own = this.byClient.get(claims.client_id);
      if (own !== undefined && own.holds("jti", claims.jti, nowSeconds)) return true;
    }
    if (this.bySubject.size > 0 && (claims.grant_id !== undefined || claims.grant_chain !== undefined)) {
      // A browser grant entry sits in the table of the person it was recorded for: the token's own `sub`.
      // A token made from a browser token (token exchange, an ID-JAG's redemption) keeps its subject's
      // `sub` and names the browser grant in `grant_chain`, so it is looked up in the same table.
      const own = this.bySubject.get(claims.sub);
      if (own !== undefined) {
        if (claims.grant_id !== undefined && own.holds("grant", claims.grant_id, nowSeconds)) return true;
        if (claims.grant_chain !== undefined) {
          for (const grant of claims.grant_chain) if (own.holds("grant", grant, nowSeconds)) return true;
        }
      }
    }
    if (entries.size === 0) return false;
    const { iat } = claims;
    if (entries.matches("jti", claims.jti, iat, nowSeconds)) return true;
    if (claims.sid !== undefined && entries.matches("session", claims.sid, iat, nowSeconds)) return true;
    if (claims.grant_id !== undefined && entries.matches("grant", claims.grant_id, iat, nowSeconds)) return true;
    if (claims.grant_chain !== undefined && entries.has("grant")) {
      for (const grant of claims.grant_chain) if (entries.matches("grant", grant, iat, nowSeconds)) return true;
    }
    if (entries.matches("subject", claims.sub, iat, nowSeconds)) return true;
    if (entries.matches("org", claims.org_id, iat, nowSeconds)) return true;
    if (!entries.has("client")) return false;
    // The token's own client, then each actor's along the `act` chain
    // (shared/revocation/is-token-revoked.ts tokenClients, without its array).
    if (entries.matches("client", claims.client_id, iat, nowSeconds)) return true;
    for (let actor: ActorClaim | undefined = claims.act; actor; actor = actor.act) {
      if (actor.client_id !== undefined && entries.matches("client", actor.client_id, iat, nowSeconds)) return true;
    }
    return false;
  }

  /** Forgets expired entries, at most once per SWEEP_EVERY_MS, so memory follows the object's pruning. */
  sweep(nowMs: number): void {
    if (nowMs < this.nextSweep) return;
    this.nextSweep = nowMs + SWEEP_EVERY_MS;
    const nowSeconds = Math.floor(nowMs / 1000);
    this.entries.dropExpired(nowSeconds);
    for (const tables of [this.byClient, this.bySubject]) {
      for (const [owner, table] of tables) {
        table.dropExpired(nowSeconds);
        if (table.size === 0) tables.delete(owner);
      }
    }
  }

  private addClientJti(clientId: string, jti: string, issuedAt: number, expiresAt: number): void {
    let table = this.byClient.get(clientId);
    if (table === undefined) {
      table = new RevocationTable();
      this.byClient.set(clientId, table);
    }
    table.add("jti", jti, issuedAt, expiresAt);
  }

  private addSubjectGrant(subject: string, grantId: string, revokedAt: number, expiresAt: number): void {
    let table = this.bySubject.get(subject);
    if (table === undefined) {
      table = new RevocationTable();
      this.bySubject.set(subject, table);
    }
    table.add("grant", grantId, revokedAt, expiresAt);
  }

  /**
   * Forgets the owner's entries at or before `second`, which a cut-off
   * refuses anyway: a client's RFC 7009 entries issued at or before its
   * `revoked_at` (byClient: each at its token's own `iat`, no clock between),
   * or a person's browser grant entries recorded at or before
   * lastGrantEntryCoveredBy of theirs (bySubject).
   */
  private dropCovered(tables: Map<string, RevocationTable>, owner: string, second: number): void {
    const table = tables.get(owner);
    if (table === undefined) return;
    table.dropUpTo(second, Math.floor(Date.now() / 1000));
    if (table.size === 0) tables.delete(owner);
  }

  private add(kind: RevocationLogEvent["kind"], value: string, revokedAt: number, expiresAt: number): void {
    // A cut-off (subject, client, org) spares tokens issued after it; the
    // other kinds name their token, session or grant whenever it was issued.
    const cutsOff = kind === "subject" || kind === "client" || kind === "org";
    this.entries.add(kind, value, cutsOff ? revokedAt : null, expiresAt);
  }
}

/** A jti entry's token as the object attributes it, or null: anything else is held unattributed, never dropped early. */
function attribution(
  kind: RevocationKind,
  clientId: string | undefined,
  issuedAt: number | undefined,
): { clientId: string; issuedAt: number } | null {
  if (kind !== "jti" || typeof clientId !== "string" || clientId.length === 0) return null;
  return typeof issuedAt === "number" && Number.isSafeInteger(issuedAt) ? { clientId, issuedAt } : null;
}

/** A browser grant entry's person as the object attributes it, or null: anything else is held unattributed. */
function grantAttribution(
  kind: RevocationKind,
  clientId: string | undefined,
  subject: string | undefined,
): string | null {
  if (kind !== "grant" || typeof clientId !== "string" || clientId.length === 0) return null;
  return typeof subject === "string" && subject.length > 0 ? subject : null;
}
