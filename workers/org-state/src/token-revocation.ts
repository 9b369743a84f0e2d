import {
  MAX_LIVE_JTI_REVOCATIONS_PER_CLIENT,
  MAX_LIVE_REVOCATIONS_PER_ORG,
  type RevocationLogEvent,
  type TokenRevocation,
  type TokenRevocationOutcome,
} from "../../../shared/contracts/revocation.ts";
import { CLOCK_TOLERANCE_SECONDS, MAX_ACCESS_TOKEN_TTL_SECONDS } from "../../../shared/contracts/tokens.ts";
import { isDerivedFrom } from "../../../shared/revocation/derived-from.ts";
import { cutOffKeys, isListed } from "./live-entries.ts";
import type { RevocationLog } from "./revocation-log.ts";

/**
 * The columns a `jti` entry recorded through RFC 7009 carries besides the
 * others: the token's `client_id` and `iat`, from its signed claims (never
 * from anything its holder can change afterwards), so the object can count
 * one client's entries and drop exactly those a fold's cut-off covers.
 * Objects created before them gain them here; their older rows stay
 * unattributed (never counted, never dropped) until they expire.
 */
export function migrateTokenColumns(sql: SqlStorage): void {
  const columns = new Set(
    sql
      .exec<{ name: string }>("PRAGMA table_info(revocation)")
      .toArray()
      .map((column) => column.name),
  );
  if (!columns.has("client_id")) sql.exec("ALTER TABLE revocation ADD COLUMN client_id TEXT");
  if (!columns.has("issued_at")) sql.exec("ALTER TABLE revocation ADD COLUMN issued_at INTEGER");
  sql.exec(
    "CREATE INDEX IF NOT EXISTS revocation_by_client ON revocation (client_id, issued_at) WHERE client_id IS NOT NULL",
  );
}

function isClaimsShaped(revocation: TokenRevocation): boolean {
  const { claims, expiresAt } = revocation;
  const text = (value: unknown) => typeof value === "string" && value.length > 0 && value.length <= 256;
  return (
    text(claims?.jti) &&
    text(claims.client_id) &&
    text(claims.sub) &&
    Number.isSafeInteger(claims.iat) &&
    // Its ancestors are keys of alreadyRefused: one we could not read is refused, not looked up as undefined.
    (claims.derived_from === undefined || isDerivedFrom(claims.derived_from)) &&
    Number.isSafeInteger(expiresAt) &&
    typeof revocation.byTokenClient === "boolean"
  );
}

/**
 * Records one RFC 7009 revocation inside the caller's transaction and
 * returns the events it logged, in order (the caller publishes them after
 * the commit). `nextSeq` bumps the org's revocation version.
 *
 * Past the caps (shared/contracts/revocation-recording.ts) the token's client is
 * folded: its jti event is logged as always (a receiver that follows
 * tokens one by one hears of it), then one `client` cut-off at `now`, and
 * the client's jti rows issued at or before it are deleted. All of it is one
 * synchronous transaction, so no read sees the rows gone without the
 * cut-off. A row whose `iat` is after `now` (a clock ahead of this
 * object's) is not covered by the cut-off and stays.
 */
export function storeTokenRevocation(
  sql: SqlStorage,
  log: RevocationLog,
  nextSeq: () => number,
  revocation: TokenRevocation,
  now: number,
): { outcome: TokenRevocationOutcome["recorded"]; events: RevocationLogEvent[] } {
  if (!isClaimsShaped(revocation)) throw new RangeError("token revocation needs jti, client_id, sub, iat and exp");
  const { claims } = revocation;
  const reason = String(revocation.reason ?? "");
  if (alreadyRefused(sql, revocation, now)) return { outcome: "covered", events: [] };
  const ceiling = now + MAX_ACCESS_TOKEN_TTL_SECONDS + CLOCK_TOLERANCE_SECONDS;
  const jtiExpiresAt = Math.min(revocation.expiresAt + CLOCK_TOLERANCE_SECONDS, ceiling);
  const jtiEvent = log.append({
    seq: nextSeq(),
    kind: "jti",
    value: claims.jti,
    revoked_at: now,
    expires_at: jtiExpiresAt,
    reason,
    // Whose token it is, so a view that follows the log can drop it with this client's cut-off.
    client_id: claims.client_id,
    issued_at: claims.iat,
  });
  const fold = foldDue(sql, revocation, now);
  if (fold === null) {
    upsertJti(sql, revocation, now, jtiExpiresAt);
    return { outcome: "jti", events: [jtiEvent] };
  }
  // A token issued after this second is not covered by the cut-off (iat <= revoked_at).
  if (claims.iat > now) upsertJti(sql, revocation, now, jtiExpiresAt);
  sql.exec(
    `INSERT INTO revocation (kind, value, revoked_at, expires_at) VALUES ('client', ?, ?, ?)
     ON CONFLICT (kind, value) DO UPDATE SET revoked_at = max(revocation.revoked_at, excluded.revoked_at),
       expires_at = max(revocation.expires_at, excluded.expires_at)`,
    claims.client_id,
    now,
    ceiling,
  );
  sql.exec("DELETE FROM revocation WHERE kind = 'jti' AND client_id = ? AND issued_at <= ?", claims.client_id, now);
  const clientEvent = log.append({
    seq: nextSeq(),
    kind: "client",
    value: claims.client_id,
    revoked_at: now,
    expires_at: ceiling,
    reason: `${reason} (folded: ${fold})`,
  });
  return { outcome: "client", events: [jtiEvent, clientEvent] };
}

/**
 * Why a fold is due, or null: the token's own client asked and already
 * holds the cap of live jti entries, or the org holds its cap of entries of
 * every kind (expired rows not yet pruned count too: folding early is the
 * safe side). The reason goes into the client event's `reason`.
 */
function foldDue(sql: SqlStorage, revocation: TokenRevocation, now: number): string | null {
  if (revocation.byTokenClient) {
    const own = sql
      .exec<{ n: number }>(
        "SELECT count(*) AS n FROM revocation WHERE client_id = ? AND kind = 'jti' AND expires_at > ?",
        revocation.claims.client_id,
        now,
      )
      .one().n;
    if (own >= MAX_LIVE_JTI_REVOCATIONS_PER_CLIENT) {
      return `the client holds ${MAX_LIVE_JTI_REVOCATIONS_PER_CLIENT} live token revocations`;
    }
  }
  const all = sql.exec<{ n: number }>("SELECT count(*) AS n FROM revocation").one().n;
  return all >= MAX_LIVE_REVOCATIONS_PER_ORG ? `the org holds ${MAX_LIVE_REVOCATIONS_PER_ORG} live revocations` : null;
}

function upsertJti(sql: SqlStorage, revocation: TokenRevocation, now: number, expiresAt: number): void {
  sql.exec(
    `INSERT INTO revocation (kind, value, revoked_at, expires_at, client_id, issued_at) VALUES ('jti', ?, ?, ?, ?, ?)
     ON CONFLICT (kind, value) DO UPDATE SET revoked_at = excluded.revoked_at,
       expires_at = max(revocation.expires_at, excluded.expires_at),
       client_id = excluded.client_id, issued_at = excluded.issued_at`,
    revocation.claims.jti,
    now,
    expiresAt,
    revocation.claims.client_id,
    revocation.claims.iat,
  );
}

/**
 * Whether a live entry already refuses the token for as long as it lives:
 * its own jti, or a cut-off (its client or an actor's, its subject, its
 * person at its client, its org) made at or after its `iat`, or the same of
 * a token it was derived from (`derived_from`: it never outlives them). A cut-off lives until its `revoked_at`
 * plus the longest token lifetime and the tolerance, so it outlives every
 * token it covers. Sessions and grants are not counted: they do not compare
 * `iat`, so nothing proves they outlive this token.
 */
function alreadyRefused(sql: SqlStorage, revocation: TokenRevocation, now: number): boolean {
  return cutOffKeys(revocation.claims).some((key) => isListed(sql, key, now));
}
