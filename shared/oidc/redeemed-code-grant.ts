/**
 * Which org and person a redeemed code's grant belongs to, for its replay
 * (RFC 6749 §4.1.2: "SHOULD revoke (when possible) all tokens previously
 * issued based on that authorization code"). Every access token of the
 * grant carries its `grant_id` and `org_id`, so the cut-off is one `grant`
 * revocation in that org; the replay only has the code, so the org must be
 * read from something the redemption left behind:
 *
 * - a refresh token row (the code was redeemed with `offline_access`): every
 *   row of the grant carries the code's stored form as
 *   `authorization_code_id` and the org as `reference_id`
 *   (browser-grant-row.ts); Better Auth deletes them as it refuses the
 *   replay, so they are read before it is handed the request;
 * - else D1 `redeemed_code_grant` (migration 0030), written here at the
 *   redemption from the access token just issued, since Better Auth keeps
 *   no row of a grant without a refresh token that names its org;
 * - else the opaque access token row Better Auth stored on the code (no
 *   `resource`): it carries the code's stored form as
 *   `authorization_code_id`, its client and its org, if any.
 *
 * A code whose redemption left any of these is spent, and the row names
 * the client it was issued to, which the authn Worker holds every replay to
 * before Better Auth is handed it (workers/authn/src/oidc/
 * code-client-authentication.ts).
 */
import { decodeJwt } from "jose";
import type { EndedBrowserGrant } from "../contracts/oidc-grants.ts";
import { BROWSER_GRANT_ID_PREFIX } from "../contracts/oidc.ts";
import { oweGrantCutoffStatement } from "../revocation/owed-grant-cutoffs.ts";
import { browserGrantId } from "./browser-grant-row.ts";

/**
 * After a code's redemption answered 200: when the answer carries no
 * refresh token but a JWT access token of the code's grant, records the
 * grant from that token's claims (the issuer signed them a moment ago in
 * this request; nothing here comes from the client). Runs inside the
 * grant's turn (workers/token/src/oidc/grant-turns.ts), so a replay, which
 * waits for the turn, reads the row. An opaque access token needs none:
 * Better Auth stores it on the code and deletes it at the replay. Returns
 * whether a row was written.
 */
export async function recordRedeemedCodeGrant(db: D1Database, codeId: string, answerBody: string): Promise<boolean> {
  const body = parsedObject(answerBody);
  if (!body || typeof body.refresh_token === "string" || typeof body.access_token !== "string") return false;
  const claims = jwtPayload(body.access_token);
  const grantId = browserGrantId(codeId);
  if (
    !claims ||
    claims.grant_id !== grantId ||
    typeof claims.org_id !== "string" ||
    typeof claims.sub !== "string" ||
    typeof claims.client_id !== "string" ||
    typeof claims.exp !== "number"
  ) {
    return false;
  }
  await db
    .prepare(
      `INSERT INTO redeemed_code_grant (grant_id, client_id, org_id, user_id, expires_at)
       VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (grant_id) DO NOTHING`,
    )
    .bind(grantId, claims.client_id, claims.org_id, claims.sub, claims.exp * 1000)
    .run();
  return true;
}

/**
 * A code Better Auth has spent, as its redemption's rows tell: the client it
 * was issued to, and the grant a replay of it ends, when that grant has an
 * org to record the cut-off in.
 */
export interface RedeemedCode {
  /**
   * The client the code was issued to (RFC 6749 §4.1.3), whatever its
   * redemption left: a refresh token row (`offline_access`), the
   * `redeemed_code_grant` row (a JWT access token), or only the opaque
   * access token Better Auth stored on the code (no `resource`). Any of
   * those Better Auth deletes when it is handed the replay, before it
   * authenticates anyone, so only this client's replay may reach it.
   */
  clientId: string;
  /** Undefined for a grant with no org (its person had no active org at consent): nothing to cut off. */
  grant: EndedBrowserGrant | undefined;
}

/**
 * A code, when it was redeemed: from one of its refresh token rows, its
 * `redeemed_code_grant` row, or its opaque access token row (each by an
 * index on the code's stored form or its grant id), a row naming an org
 * first. One statement; undefined for a code never redeemed (or redeemed so
 * long ago that all are gone: its access tokens have expired by then).
 */
export async function redeemedCode(db: D1Database, codeId: string): Promise<RedeemedCode | undefined> {
  const grantId = browserGrantId(codeId);
  // Every row of one code names the same client, person and org (Better
  // Auth copies them from the code, and onto each rotated refresh token).
  const row = await db
    .prepare(
      `SELECT clientId, userId, orgId FROM (
         SELECT clientId, userId, orgId FROM (
           SELECT client_id AS clientId, user_id AS userId, reference_id AS orgId
             FROM oidc_refresh_token WHERE authorization_code_id = ?1 LIMIT 1)
         UNION ALL
         SELECT client_id, user_id, org_id FROM redeemed_code_grant WHERE grant_id = ?2
         UNION ALL
         SELECT clientId, userId, orgId FROM (
           SELECT client_id AS clientId, user_id AS userId, reference_id AS orgId
             FROM oidc_access_token WHERE authorization_code_id = ?1 LIMIT 1))
       ORDER BY orgId IS NULL
       LIMIT 1`,
    )
    .bind(codeId, grantId)
    .first<{ clientId: string; userId: string | null; orgId: string | null }>();
  if (!row) return undefined;
  const grant =
    row.orgId && row.userId ? { clientId: row.clientId, userId: row.userId, orgId: row.orgId, grantId } : undefined;
  return { clientId: row.clientId, grant };
}

/**
 * A replay's part (RFC 6749 §4.1.2): Better Auth deletes the rows it stored
 * on the code as it refuses the replay (its refresh and opaque access
 * tokens), so a second replay of a code redeemed with a refresh token reads
 * nothing and records nothing. The `redeemed_code_grant` row goes at the
 * same moment, so a code redeemed without one is cut off once too: left in
 * place, every replay until the access token expired would record the
 * grant's revocation again, one more event in the org's log (and on every
 * gateway's channel) per request, from one authorization.
 *
 * The row is the last thing that names the grant, so it goes only in the
 * same D1 batch that owes the grant's cut-off (`owed_grant_cutoff`, as the
 * token Worker owes it before it records it, workers/token/src/oidc/
 * grant-cutoff.ts): spent first, a replay whose cut-off the token Worker
 * could then neither owe nor record (D1 and the org's object both failing,
 * or the answer lost on the way) lost it, with nothing left for the next
 * replay or the cron to read. Both or neither: a batch that fails leaves
 * the row for the next replay. Throws when it fails.
 */
export async function spendRedeemedCodeGrant(
  db: D1Database,
  grant: EndedBrowserGrant,
  presented: string,
): Promise<void> {
  await db.batch([
    oweGrantCutoffStatement(db, { ...grant, presented, reason: codeReplayReason(grant.clientId) }),
    db.prepare("DELETE FROM redeemed_code_grant WHERE grant_id = ?1").bind(grant.grantId),
  ]);
}

/**
 * The reason a replayed code's cut-off is recorded with: the token Worker's
 * words for it (oidc/forward-browser-grant.ts), naming the client that sent
 * the replay, which only the code's own client reaches Better Auth as
 * (workers/authn/src/oidc/code-client-authentication.ts).
 */
export function codeReplayReason(clientId: string): string {
  return `authorization code replay by ${clientId}`;
}

function parsedObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === "object" ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A compact JWS's payload (no signature check: the issuer's own token of this request). */
function jwtPayload(token: string): Record<string, unknown> | undefined {
  try {
    const payload: Record<string, unknown> = decodeJwt(token);
    return typeof payload.grant_id === "string" && payload.grant_id.startsWith(BROWSER_GRANT_ID_PREFIX)
      ? payload
      : undefined;
  } catch {
    return undefined;
  }
}
