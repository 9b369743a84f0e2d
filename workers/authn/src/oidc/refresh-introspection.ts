import { isAPIError } from "better-auth/api";
import type { BrowserGrantAnswer, BrowserGrantRequest } from "../../../../shared/contracts/oidc-grants.ts";
import { orgIdClaim } from "./org-claim.ts";
import { storedTokenForm } from "./stored-token.ts";

const INACTIVE: BrowserGrantAnswer = { status: 200, body: JSON.stringify({ active: false }) };

/**
 * RFC 7662 for a browser client's refresh tokens, for the token Worker's
 * ENDPOINT.introspection (shared/contracts/oidc-grants.ts): Better Auth's
 * introspection answers first (oidc/grant-entrypoint.ts), then this. Here rather than
 * a D1 read in the token Worker because Better Auth owns that storage: its
 * introspection authenticates the client exactly as its revocation does
 * (client_secret_basic / client_secret_post; a public client, with no secret,
 * is `401 invalid_client`, RFC 7662 §2.1) and judges the row by its own
 * rules (stored hashed, `storeTokens`; another client's, revoked — rotated,
 * RFC 7009, a family ended by reuse, a sign-out everywhere — expired or
 * unknown: `{"active": false}`), so a change of either in a later Better
 * Auth version is followed here, not duplicated.
 *
 * Better Auth's "active" is still not "the refresh grant would honour it":
 * that grant also needs the person to be a member of the grant's org and not
 * banned (oidc/org-claim.ts, at every issue), which its introspection never
 * asks. A refresh token the grant would refuse with `invalid_grant` is
 * inactive (§2.2: "currently active"), read in the same way; the org is
 * then added to the answer (`org_id`, as every access token of the grant
 * carries it).
 */
export async function refreshGrantStillHonoured(
  db: D1Database,
  request: BrowserGrantRequest,
  answer: BrowserGrantAnswer,
): Promise<BrowserGrantAnswer> {
  if (answer.status !== 200) return answer;
  let members: Record<string, unknown>;
  try {
    members = JSON.parse(answer.body) as Record<string, unknown>;
  } catch {
    return INACTIVE;
  }
  if (members?.active !== true) return INACTIVE;
  const token = new URLSearchParams(typeof request?.form === "string" ? request.form : "").get("token");
  const grant = token ? await refreshGrant(db, token) : undefined;
  if (!grant) return INACTIVE;
  try {
    const { org_id } = await orgIdClaim(db, grant.userId ?? undefined, grant.orgId ?? undefined);
    return { status: 200, body: JSON.stringify({ ...members, org_id }) };
  } catch (error) {
    if (isAPIError(error)) return INACTIVE;
    throw error;
  }
}

/** The row Better Auth just judged, by its stored form (oidc/stored-token.ts). */
async function refreshGrant(
  db: D1Database,
  token: string,
): Promise<{ userId: string | null; orgId: string | null } | undefined> {
  const stored = await storedTokenForm(token);
  const row = await db
    .prepare("SELECT user_id AS userId, reference_id AS orgId FROM oidc_refresh_token WHERE token = ?1")
    .bind(stored)
    .first<{ userId: string | null; orgId: string | null }>();
  return row ?? undefined;
}
