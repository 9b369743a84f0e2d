import {
  clientSubjectValue,
  parseClientSubjectValue,
  REVOCATION_KINDS,
  type RevocationLogEvent,
  type RevocationSnapshot,
} from "../../../../shared/contracts/revocation.ts";
import type { ActorClaim, AccessTokenClaims, DerivedFrom } from "../../../../shared/contracts/tokens.ts";
import { lastGrantEntryCoveredBy } from "../../../../shared/revocation/grant-entry-fold.ts";
import { delegatedFromUnnamedBrowserGrant } from "../../../../shared/revocation/is-token-revoked.ts";
import { attribution, grantAttribution } from "./revocation-attribution.ts";
import { RevocationTable } from "./revocation-table.ts";

const KNOWN_KINDS: ReadonlySet<string> = new Set(REVOCATION_KINDS);

/**
 * A snapshot holds an entry this code cannot read: a kind it does not know
 * (an object newer than this gateway) or a `client_subject` value that names
 * no pair. Building the view fails, so the check fails closed (503) rather
 * than accept a token such an entry may refuse.
 */
export class UnreadableRevocationError extends Error {
  constructor(kind: string) {
    super(`revocation entry of kind ${kind} cannot be read by this gateway`);
    this.name = "UnreadableRevocationError";
  }
}

/**
 * A person's latest `client_subject` cut-off at any client: a token of
 * theirs issued after it meets none of their cut-offs, so the check of the
 * clients of the browser grants it rests on is skipped (and a token signed
 * before `grant_chain_clients` is refused by it).
 */
interface PersonCutOff {
  revokedAt: number;
  expiresAt: number;
}

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
 * arrives (any cut-off of the whole person; the fold the object makes of
 * their entries past MAX_LIVE_BROWSER_GRANT_REVOCATIONS_PER_PERSON is the
 * `client_subject` cut-off below), the view forgets the person's grant
 * entries the cut-off covers with the clock tolerance to spare (recorded at or before
 * lastGrantEntryCoveredBy(revoked_at), shared/revocation/grant-entry-fold.ts),
 * as the object deletes them in the same transaction; younger ones stay,
 * since a token of their grant may carry an `iat` past the cut-off's
 * second (workers/org-state/src/browser-grant-revocation.ts explains why). A token's `grant_id` and every grant of its
 * `grant_chain` are looked up in the table of its own `sub`, the person the
 * entry was recorded for (the grant's refresh token rows' `user_id`, which
 * the provider signs as `sub`, and which every token made from one of its
 * tokens keeps: token exchange and ID-JAG carry the subject token's `sub`).
 * Within the person's entries they are held per client, because the fold
 * of one client's entries of a person is a `client_subject` cut-off of the
 * person at that client alone: when it arrives the view forgets that
 * client's grant entries of the person it covers, by the same rule, and
 * keeps the others'. Such a cut-off sits in the shared table under its
 * value (clientSubjectValue) and refuses the person's tokens of that
 * client, and their tokens delegated to another client from one of their
 * browser grants at that client (`grant_chain_clients` names it). A token
 * delegated from a browser grant before that claim existed does not say
 * whose grant it is (delegatedFromUnnamedBrowserGrant), so the person's
 * latest such cut-off at any client refuses it: the view keeps that one
 * per person (`personCutOffs`, shared/revocation/is-token-revoked.ts
 * explains why), which also spares the claim's lookups for a token issued
 * after it.
 *
 * An entry or event of a kind this code does not know is never held as
 * something else: fromSnapshot throws UnreadableRevocationError and apply
 * answers false (a gap), so the caller re-reads the snapshot, cannot build
 * it, and the check fails closed until this gateway knows the kind. A
 * gateway must therefore be deployed before the object that records a new
 * kind (docs/revocation.md).
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
  /** Browser grant entries per person, then per client, each at the second it was recorded; none: no table. */
  private readonly bySubject = new Map<string, Map<string, RevocationTable>>();
  /** Per person, their latest live `client_subject` cut-off at any client; a person without one has none. */
  private readonly personCutOffs = new Map<string, PersonCutOff>();
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
      if (!KNOWN_KINDS.has(entry.kind)) throw new UnreadableRevocationError(String(entry.kind));
      const token = attribution(entry.kind, entry.clientId, entry.issuedAt);
      const person = grantAttribution(entry.kind, entry.clientId, entry.subject);
      if (token !== null) {
        view.addClientJti(token.clientId, entry.value, token.issuedAt, entry.expiresAt);
      } else if (person !== null) {
        view.addSubjectGrant(person.subject, person.clientId, entry.value, entry.revokedAt, entry.expiresAt);
      } else if (entry.kind === "client_subject") {
        const pair = parseClientSubjectValue(entry.value);
        if (pair === null) throw new UnreadableRevocationError(entry.kind);
        view.addClientSubject(entry.value, pair.subject, entry.revokedAt, entry.expiresAt);
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
    for (const tables of this.bySubject.values()) for (const table of tables.values()) size += table.size;
    return size;
  }

  /**
   * Applies the object's events in seq order; ones this view already
   * reflects are skipped. Answers false, applying nothing further, at a gap
   * or at an event it cannot read (UnreadableRevocationError): the caller
   * must then sync from the object.
   */
  apply(events: readonly RevocationLogEvent[]): boolean {
    for (const event of events) {
      if (event.seq <= this.version) continue;
      if (event.seq !== this.version + 1) return false;
      if (!KNOWN_KINDS.has(event.kind)) return false;
      const token = attribution(event.kind, event.client_id, event.issued_at);
      const person = grantAttribution(event.kind, event.client_id, event.subject);
      const pair = event.kind === "client_subject" ? parseClientSubjectValue(event.value) : null;
      if (event.kind === "client_subject" && pair === null) return false;
      if (token !== null) {
        this.addClientJti(token.clientId, event.value, token.issuedAt, event.expires_at);
      } else if (person !== null) {
        this.addSubjectGrant(person.subject, person.clientId, event.value, event.revoked_at, event.expires_at);
      } else if (pair !== null) {
        this.addClientSubject(event.value, pair.subject, event.revoked_at, event.expires_at);
      } else {
        this.add(event.kind, event.value, event.revoked_at, event.expires_at);
      }
      if (event.kind === "client") this.dropCoveredJtis(event.value, event.revoked_at);
      if (event.kind === "subject") this.dropCoveredGrants(event.value, null, event.revoked_at);
      if (pair !== null) this.dropCoveredGrants(pair.subject, pair.clientId, event.revoked_at);
      this.version = event.seq;
    }
    return true;
  }

  /**
   * Whether any entry matches the token, by the rules of
   * shared/revocation/is-token-revoked.ts: its jti, its session, the grant
   * it was minted under, or a subject, client (the token's own or any along
   * its `act` chain), client_subject or org cut-off made at or after it was
   * issued.
   */
  matches(claims: AccessTokenClaims, nowSeconds: number): boolean {
    const entries = this.entries;
    // Runs on every request: no closure, no array, nothing hashed for a kind the org has no entry of.
    if (this.byClient.size > 0) {
      // An RFC 7009 entry sits in the table of the client it was recorded for: the token's own.
      const own = this.byClient.get(claims.client_id);
      if (own !== undefined && own.holds("jti", claims.jti, nowSeconds)) return true;
    }
    // RFC 7009 §2.1: a token derived from a revoked one is refused with it (shared/revocation/derived-from.ts).
    if (claims.derived_from !== undefined && this.revokesAncestor(claims.derived_from, nowSeconds)) return true;
    if (this.bySubject.size > 0 && (claims.grant_id !== undefined || claims.grant_chain !== undefined)) {
      // A browser grant entry sits in the tables of the person it was recorded for: the token's own `sub`.
      // A token made from a browser token (token exchange, an ID-JAG's redemption) keeps its subject's
      // `sub` and names the browser grant in `grant_chain`, so it is looked up in the same tables
      // (one per client the person has entries of: few).
      const own = this.bySubject.get(claims.sub);
      if (own !== undefined) {
        for (const table of own.values()) {
          if (claims.grant_id !== undefined && table.holds("grant", claims.grant_id, nowSeconds)) return true;
          if (claims.grant_chain !== undefined) {
            for (const grant of claims.grant_chain) if (table.holds("grant", grant, nowSeconds)) return true;
          }
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
    if (entries.has("client_subject")) {
      // The person at the token's own client; then, for a token resting on their browser grants
      // (delegated to another client), the person at each grant's client.
      const value = clientSubjectValue(claims.client_id, claims.sub);
      if (entries.matches("client_subject", value, iat, nowSeconds)) return true;
      // Their latest cut-off at any client first: a token issued after it meets none of theirs.
      const person = this.personCutOffs.get(claims.sub);
      if (person !== undefined && person.expiresAt > nowSeconds && iat <= person.revokedAt) {
        const named = claims.grant_chain_clients;
        // Signed before `grant_chain_clients`: whose grant it rests on is unknown, so any cut-off refuses it.
        if (named === undefined) {
          if (delegatedFromUnnamedBrowserGrant(claims)) return true;
        } else {
          for (const grant in named) {
            const client = named[grant] as string;
            if (client === claims.client_id) continue;
            if (entries.matches("client_subject", clientSubjectValue(client, claims.sub), iat, nowSeconds)) return true;
          }
        }
      }
    }
    if (!entries.has("client")) return false;
    // The token's own client, then each actor's along the `act` chain
    // (shared/revocation/is-token-revoked.ts tokenClients, without its array).
    if (entries.matches("client", claims.client_id, iat, nowSeconds)) return true;
    for (let actor: ActorClaim | undefined = claims.act; actor; actor = actor.act) {
      if (actor.client_id !== undefined && entries.matches("client", actor.client_id, iat, nowSeconds)) return true;
    }
    return false;
  }

  /**
   * Whether a token this one was derived from is revoked: its jti (in its
   * client's table when recorded through RFC 7009, else the shared one), or
   * a cut-off of its client at or after its `iat`, which stands for its jti
   * once a fold dropped it (dropCoveredJtis). At most MAX_DERIVED_FROM_LENGTH
   * ancestors, three lookups each, nothing hashed for a kind the org has none of.
   */
  private revokesAncestor(ancestors: readonly DerivedFrom[], nowSeconds: number): boolean {
    const entries = this.entries;
    for (const ancestor of ancestors) {
      const table = this.byClient.size > 0 ? this.byClient.get(ancestor.client_id) : undefined;
      if (table !== undefined && table.holds("jti", ancestor.jti, nowSeconds)) return true;
      if (entries.matches("jti", ancestor.jti, ancestor.iat, nowSeconds)) return true;
      if (entries.matches("client", ancestor.client_id, ancestor.iat, nowSeconds)) return true;
    }
    return false;
  }

  /** Forgets expired entries, at most once per SWEEP_EVERY_MS, so memory follows the object's pruning. */
  sweep(nowMs: number): void {
    if (nowMs < this.nextSweep) return;
    this.nextSweep = nowMs + SWEEP_EVERY_MS;
    const nowSeconds = Math.floor(nowMs / 1000);
    this.entries.dropExpired(nowSeconds);
    for (const [client, table] of this.byClient) {
      table.dropExpired(nowSeconds);
      if (table.size === 0) this.byClient.delete(client);
    }
    for (const [subject, tables] of this.bySubject) {
      for (const [client, table] of tables) {
        table.dropExpired(nowSeconds);
        if (table.size === 0) tables.delete(client);
      }
      if (tables.size === 0) this.bySubject.delete(subject);
    }
    for (const [subject, cutOff] of this.personCutOffs) {
      if (cutOff.expiresAt <= nowSeconds) this.personCutOffs.delete(subject);
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

  private addSubjectGrant(
    subject: string,
    clientId: string,
    grantId: string,
    revokedAt: number,
    expiresAt: number,
  ): void {
    let tables = this.bySubject.get(subject);
    if (tables === undefined) {
      tables = new Map();
      this.bySubject.set(subject, tables);
    }
    let table = tables.get(clientId);
    if (table === undefined) {
      table = new RevocationTable();
      tables.set(clientId, table);
    }
    table.add("grant", grantId, revokedAt, expiresAt);
  }

  /** A `client_subject` cut-off: in the shared table by its value, and as its person's latest. */
  private addClientSubject(value: string, subject: string, revokedAt: number, expiresAt: number): void {
    this.add("client_subject", value, revokedAt, expiresAt);
    const held = this.personCutOffs.get(subject);
    // The later of each, as the table keeps them (a later cut-off also expires later: both are now + a constant).
    this.personCutOffs.set(subject, {
      revokedAt: Math.max(held?.revokedAt ?? 0, revokedAt),
      expiresAt: Math.max(held?.expiresAt ?? 0, expiresAt),
    });
  }

  /**
   * Forgets a client's RFC 7009 entries issued at or before its cut-off's
   * `revoked_at`, which it refuses anyway (byClient: each at its token's
   * own `iat`, no clock between).
   */
  private dropCoveredJtis(clientId: string, revokedAt: number): void {
    const table = this.byClient.get(clientId);
    if (table === undefined) return;
    table.dropUpTo(revokedAt, Math.floor(Date.now() / 1000));
    if (table.size === 0) this.byClient.delete(clientId);
  }

  /**
   * Forgets a person's browser grant entries recorded at or before
   * lastGrantEntryCoveredBy of their cut-off at `revokedAt`, which it
   * refuses anyway: of every client for a `subject` cut-off (`clientId`
   * null), of that client alone for a `client_subject` one.
   */
  private dropCoveredGrants(subject: string, clientId: string | null, revokedAt: number): void {
    const tables = this.bySubject.get(subject);
    if (tables === undefined) return;
    const second = lastGrantEntryCoveredBy(revokedAt);
    const nowSeconds = Math.floor(Date.now() / 1000);
    for (const [client, table] of tables) {
      if (clientId !== null && client !== clientId) continue;
      table.dropUpTo(second, nowSeconds);
      if (table.size === 0) tables.delete(client);
    }
    if (tables.size === 0) this.bySubject.delete(subject);
  }

  private add(kind: RevocationLogEvent["kind"], value: string, revokedAt: number, expiresAt: number): void {
    // A cut-off (subject, client, client_subject, org) spares tokens issued
    // after it; the other kinds name their token, session or grant whenever
    // it was issued.
    const cutsOff = kind === "subject" || kind === "client" || kind === "client_subject" || kind === "org";
    this.entries.add(kind, value, cutsOff ? revokedAt : null, expiresAt);
  }
}
