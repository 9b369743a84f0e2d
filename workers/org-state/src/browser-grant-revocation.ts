import {
  type BrowserGrantRevocation,
  type BrowserGrantRevocationOutcome,
  clientSubjectValue,
  MAX_LIVE_BROWSER_GRANT_REVOCATIONS_PER_PERSON,
  type RevocationLogEvent,
} from "../../../shared/contracts/revocation.ts";
import { CLOCK_TOLERANCE_SECONDS, MAX_ACCESS_TOKEN_TTL_SECONDS } from "../../../shared/contracts/tokens.ts";
import { isBrowserGrant } from "../../../shared/revocation/grant-chain-clients.ts";
import { lastGrantEntryCoveredBy } from "../../../shared/revocation/grant-entry-fold.ts";
import type { RevocationLog } from "./revocation-log.ts";

/**
 * The column a browser `grant` entry carries besides the others: `subject`,
 * the person who consented to the grant, with `client_id` (the column RFC
 * 7009 jti rows use for their token's client, token-revocation.ts) the
 * grant's client. Both come from the grant's refresh token rows in the
 * authn Worker (EndedBrowserGrant), never from the request, so the object
 * can count one person's entries for a client and drop exactly those a
 * `subject` or `client_subject` cut-off covers. A `client_subject` row
 * carries the same two columns (the pair its value names), so a token
 * resting on a browser grant through a delegation is matched by its person
 * alone (live-entries.ts). Objects created before it gain it here; their
 * older grant rows stay unattributed (never counted, never dropped) until
 * they expire.
 */
export function migrateGrantColumns(sql: SqlStorage): void {
  const columns = new Set(
    sql
      .exec<{ name: string }>("PRAGMA table_info(revocation)")
      .toArray()
      .map((column) => column.name),
  );
  if (!columns.has("subject")) sql.exec("ALTER TABLE revocation ADD COLUMN subject TEXT");
  // On `subject` alone: a person's rows are few (the cap per client); a subject cut-off deletes them across clients.
  sql.exec("CREATE INDEX IF NOT EXISTS revocation_by_subject ON revocation (subject) WHERE subject IS NOT NULL");
}

function isGrantShaped(revocation: BrowserGrantRevocation): boolean {
  const text = (value: unknown) => typeof value === "string" && value.length > 0 && value.length <= 256;
  // A browser grant's id only: a delegation grant's entry recorded here would be dropped by the
  // person's next `subject` cut-off (dropCoveredBrowserGrants), while it must outlive it.
  return (
    text(revocation?.grantId) &&
    isBrowserGrant(revocation.grantId) &&
    text(revocation.clientId) &&
    text(revocation.subject)
  );
}

/**
 * Records one browser grant's revocation inside the caller's transaction and
 * returns the events it logged, in order (the caller publishes them after
 * the commit). `nextSeq` bumps the org's revocation version.
 *
 * When the person's live browser-grant entries for this client already
 * number MAX_LIVE_BROWSER_GRANT_REVOCATIONS_PER_PERSON, they are folded:
 * one `client_subject` cut-off of the person at this client at `now`
 * (value clientSubjectValue(client, person)) is logged first, every
 * browser-grant entry of theirs for this client the cut-off covers
 * (dropCoveredBrowserGrants) is deleted, and then this grant's own entry is
 * recorded as always. That order is what a gateway view following the log
 * applies (workers/gateway/src/trust/revocation-index.ts): the cut-off's
 * event drops the person's grant entries for the client it covers by the
 * same rule, the grant event after it adds this one back, so the view holds
 * what the snapshot holds.
 *
 * Why the person at this client, not the person: the client itself can end
 * its grants at will (authorize silently with remembered consent, revoke the
 * refresh token, 51 times), so a cut-off of the whole person would let any
 * client they consented to end their tokens at every other client and their
 * own sessions'. The cut-off refuses what the dropped entries refused and
 * no more of theirs: the tokens of this client's grants carry its
 * `client_id`, and so does every token exchanged from one without an actor;
 * one issued through a delegation to another client names the browser grant
 * in `grant_chain` and its client in `grant_chain_clients`, so this cut-off
 * refuses those resting on the person's grants at this client; one minted
 * before that claim does not say whose grant it rests on, and any
 * `client_subject` cut-off of the person refuses it
 * (shared/revocation/is-token-revoked.ts clientSubjectCutOffRevokes).
 *
 * Why the cut-off covers a dropped entry: it refuses each of those tokens
 * issued at or before `now`, and every token of an ended grant was
 * signed before its refresh tokens were revoked (oidc/grant-turns.ts in the
 * token Worker takes a refresh's turn before its revocation), which was
 * before its entry was recorded. But `iat` is the signer's clock and the
 * entry's second this object's: a token of a grant whose entry is younger
 * than CLOCK_TOLERANCE_SECONDS may carry an `iat` after `now`. So only
 * entries recorded at or before lastGrantEntryCoveredBy(now) go; the
 * younger ones stay as entries, like this grant's own recorded after the
 * cut-off: an entry matches a token of its grant whenever it was issued. A
 * later cut-off or their expiry removes them. The person's count for the
 * client thus restarts from the entries of the last CLOCK_TOLERANCE_SECONDS,
 * not from one: a burst of revocations inside that window folds again at
 * each one past the cap, moving the cut-off forward, until its entries age
 * past the tolerance.
 *
 * A repeated revocation of a grant whose entry is live (a retry, a reuse
 * after a revocation) only moves that entry forward: it adds none, so it
 * never folds.
 */
export function storeBrowserGrantRevocation(
  sql: SqlStorage,
  log: RevocationLog,
  nextSeq: () => number,
  revocation: BrowserGrantRevocation,
  now: number,
): { outcome: BrowserGrantRevocationOutcome["recorded"]; events: RevocationLogEvent[] } {
  if (!isGrantShaped(revocation)) {
    throw new RangeError("browser grant revocation needs a browser grantId, clientId and subject");
  }
  const { grantId, clientId, subject } = revocation;
  const reason = String(revocation.reason ?? "");
  const ceiling = now + MAX_ACCESS_TOKEN_TTL_SECONDS + CLOCK_TOLERANCE_SECONDS;
  const events: RevocationLogEvent[] = [];
  const fold = foldDue(sql, revocation, now);
  if (fold !== null) {
    const value = clientSubjectValue(clientId, subject);
    sql.exec(
      `INSERT INTO revocation (kind, value, revoked_at, expires_at, client_id, subject)
       VALUES ('client_subject', ?, ?, ?, ?, ?)
       ON CONFLICT (kind, value) DO UPDATE SET revoked_at = max(revocation.revoked_at, excluded.revoked_at),
         expires_at = max(revocation.expires_at, excluded.expires_at)`,
      value,
      now,
      ceiling,
      clientId,
      subject,
    );
    dropCoveredBrowserGrants(sql, subject, now, clientId);
    events.push(
      log.append({
        seq: nextSeq(),
        kind: "client_subject",
        value,
        revoked_at: now,
        expires_at: ceiling,
        reason: `${reason} (folded: ${fold})`,
        // The pair the value names, as on the row: readers need not parse it to show whose it is.
        client_id: clientId,
        subject,
      }),
    );
  }
  sql.exec(
    `INSERT INTO revocation (kind, value, revoked_at, expires_at, client_id, subject) VALUES ('grant', ?, ?, ?, ?, ?)
     ON CONFLICT (kind, value) DO UPDATE SET revoked_at = excluded.revoked_at,
       expires_at = max(revocation.expires_at, excluded.expires_at),
       client_id = excluded.client_id, subject = excluded.subject`,
    grantId,
    now,
    ceiling,
    clientId,
    subject,
  );
  events.push(
    log.append({
      seq: nextSeq(),
      kind: "grant",
      value: grantId,
      revoked_at: now,
      expires_at: ceiling,
      reason,
      // Whose grant it is, so a view that follows the log can drop it with this person's cut-off.
      client_id: clientId,
      subject,
    }),
  );
  return { outcome: fold === null ? "grant" : "client_subject", events };
}

/**
 * Deletes the person's browser-grant entries their cut-off at `revokedAt`
 * covers with the clock tolerance to spare: those recorded at or before
 * lastGrantEntryCoveredBy(revokedAt) (shared/revocation/grant-entry-fold.ts;
 * see storeBrowserGrantRevocation) — of every client for a `subject`
 * cut-off, of `clientId` only for a `client_subject` one. Called in the
 * transaction that records any such cut-off, a fold's or an operator's
 * (OrgState.revoke), because a gateway view drops them on every such event
 * alike.
 */
export function dropCoveredBrowserGrants(sql: SqlStorage, subject: string, revokedAt: number, clientId?: string): void {
  if (clientId === undefined) {
    sql.exec(
      "DELETE FROM revocation WHERE kind = 'grant' AND subject = ? AND revoked_at <= ?",
      subject,
      lastGrantEntryCoveredBy(revokedAt),
    );
    return;
  }
  sql.exec(
    "DELETE FROM revocation WHERE kind = 'grant' AND subject = ? AND client_id = ? AND revoked_at <= ?",
    subject,
    clientId,
    lastGrantEntryCoveredBy(revokedAt),
  );
}

/**
 * Why a fold is due, or null: this grant has no live entry yet and the
 * person's live browser-grant entries for its client already number the
 * cap (expired rows not yet pruned are not counted: they are no longer
 * read, and the alarm deletes them).
 */
function foldDue(sql: SqlStorage, revocation: BrowserGrantRevocation, now: number): string | null {
  const own = sql
    .exec("SELECT 1 FROM revocation WHERE kind = 'grant' AND value = ? AND expires_at > ?", revocation.grantId, now)
    .toArray();
  if (own.length > 0) return null;
  const held = sql
    .exec<{ n: number }>(
      "SELECT count(*) AS n FROM revocation WHERE subject = ? AND client_id = ? AND kind = 'grant' AND expires_at > ?",
      revocation.subject,
      revocation.clientId,
      now,
    )
    .one().n;
  return held >= MAX_LIVE_BROWSER_GRANT_REVOCATIONS_PER_PERSON
    ? `the person holds ${MAX_LIVE_BROWSER_GRANT_REVOCATIONS_PER_PERSON} live grant revocations for ${revocation.clientId}`
    : null;
}
