import type { EndedBrowserGrant } from "../../../../shared/contracts/oidc-grants.ts";
import { OAuthError } from "../../../../shared/errors/oauth.ts";
import { recordBrowserGrantRevocation, recordRevocation } from "../../../../shared/revocation/record-revocation.ts";

/**
 * RFC 7009 §2.1: the access tokens "based on the same authorization grant"
 * as the revoked refresh token are invalidated too (and, RFC 9700 §4.14.2,
 * those of a grant whose refresh token was used again after it was revoked,
 * oidc/forward-browser-grant.ts): a `grant` revocation of
 * the grant's id, which each of them carries as `grant_id`
 * (shared/contracts/oidc.ts BROWSER_GRANT_ID_PREFIX), in the grant's org,
 * which each carries as `org_id`. Both come from the refresh token's row, not
 * from anything the person can change afterwards, and the entry matches
 * whenever a token was issued, so one a refresh signed in flight is cut off
 * too; it lives for the longest access-token lifetime after the family
 * ended, as long as any token of the grant can. Only for the client the
 * request names, which the provider authenticated: Better Auth answers 200,
 * revoking nothing, for another client's refresh token, and "already
 * revoked" without asking whose it is. The person's other grants, to this client or any other,
 * carry other ids and live on.
 *
 * The entry is attributed to the grant's client and person (its refresh
 * token rows' `user_id`, the tokens' `sub`): past
 * MAX_LIVE_BROWSER_GRANT_REVOCATIONS_PER_PERSON live entries of that
 * person's grants to that client, the org's object cuts the person off
 * instead (a `subject` cut-off, which also covers their earlier entries)
 * rather than let one member's script fill the org's revocations
 * (docs/revocation.md, "Bounds").
 */
export async function endGrantAccessTokens(
  env: TokenEnv,
  clientId: string,
  grant: EndedBrowserGrant | undefined,
  reason: string,
): Promise<void> {
  if (!grant || grant.clientId !== clientId || typeof grant.orgId !== "string" || typeof grant.grantId !== "string") {
    return;
  }
  try {
    if (typeof grant.userId === "string" && grant.userId.length > 0) {
      await recordBrowserGrantRevocation(env, {
        orgId: grant.orgId,
        grantId: grant.grantId,
        clientId: grant.clientId,
        subject: grant.userId,
        reason,
      });
    } else {
      // An authn Worker deployed before it named the person: recorded unattributed, never skipped.
      await recordRevocation(env, { orgId: grant.orgId, kind: "grant", value: grant.grantId, reason });
    }
  } catch (error) {
    console.error("browser grant revocation not recorded", grant.orgId, error);
    throw new OAuthError("temporarily_unavailable", "the revocation could not be recorded; retry");
  }
}
