import type { EndedBrowserGrant } from "../../../../shared/contracts/oidc-grants.ts";
import { OAuthError } from "../../../../shared/errors/oauth.ts";
import {
  clearOwedGrantCutoff,
  type OwedGrantCutoff,
  oweGrantCutoff,
} from "../../../../shared/revocation/owed-grant-cutoffs.ts";
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
 * ended, as long as any token of the grant can. At revocation and reuse,
 * only for the client the request names, which the provider authenticated:
 * Better Auth answers 200, revoking nothing, for another client's refresh
 * token, and "already revoked" without asking whose it is. A replayed code
 * ends its grant only from its own client, which the authn Worker
 * authenticates before Better Auth acts on the replay
 * (workers/authn/src/oidc/code-client-authentication.ts;
 * forward-browser-grant.ts passes the grant's client). The person's
 * other grants, to this client or any other, carry other ids and live on.
 *
 * The entry is attributed to the grant's client and person (its refresh
 * token rows' `user_id`, the tokens' `sub`): past
 * MAX_LIVE_BROWSER_GRANT_REVOCATIONS_PER_PERSON live entries of that
 * person's grants to that client, the org's object cuts the person off at
 * that client instead (a `client_subject` cut-off, which also covers their
 * earlier entries for it) rather than let one member's script fill the
 * org's revocations (docs/revocation.md, "Bounds").
 *
 * Owed first (D1 `owed_grant_cutoff`, shared/revocation/owed-grant-cutoffs.ts),
 * then recorded, then the row cleared: the rows the grant was read from
 * may be gone by now (a reused token's family, a replayed code's tokens),
 * so a cut-off the object could not take is left owed, for the retry with
 * the same token (`presented`, its stored form) or the cron
 * (owed-grant-cutoffs.ts), never dropped. Throws `503
 * temporarily_unavailable` when it is not recorded.
 */
export async function endGrantAccessTokens(
  env: TokenEnv,
  clientId: string,
  grant: EndedBrowserGrant | undefined,
  reason: string,
  presented: string,
): Promise<void> {
  const owed = owedCutoffOf(clientId, grant, presented, reason);
  if (!owed) return;
  try {
    await oweGrantCutoff(env.DB, owed);
  } catch (error) {
    // Still recorded below; only a failure of both loses it.
    console.error("browser grant cut-off not owed", owed.orgId, error);
  }
  await settleOwedGrantCutoff(env, owed);
}

/**
 * The cut-off a grant's end owes, when the grant is the client's given
 * (the one the provider authenticated, or for a replayed code the grant's
 * own, its sender checked by the authn Worker) and names its org and id;
 * nothing otherwise.
 */
export function owedCutoffOf(
  clientId: string,
  grant:
    | (Pick<EndedBrowserGrant, "clientId" | "userId"> & { orgId: string | null; grantId: string | null })
    | undefined,
  presented: string,
  reason: string,
): OwedGrantCutoff | undefined {
  if (!grant || grant.clientId !== clientId || typeof grant.orgId !== "string" || typeof grant.grantId !== "string") {
    return undefined;
  }
  const userId = typeof grant.userId === "string" ? grant.userId : "";
  return { grantId: grant.grantId, orgId: grant.orgId, clientId: grant.clientId, userId, presented, reason };
}

/**
 * Records an owed cut-off in the org's object and clears its row. Throws
 * `503 temporarily_unavailable` when the object does not take it: the row
 * stays owed. A row recorded but not cleared is recorded again later
 * (harmless: the object keys its entry by the grant).
 */
export async function settleOwedGrantCutoff(
  env: TokenEnv,
  owed: OwedGrantCutoff,
  waitUntil?: (promise: Promise<unknown>) => void,
): Promise<void> {
  await recordOwedGrantCutoff(env, owed, waitUntil);
  await clearOwedGrantCutoff(env.DB, owed.grantId).catch((error: unknown) => {
    console.error("browser grant cut-off recorded but not cleared", owed.orgId, error);
  });
}

/**
 * settleOwedGrantCutoff's record, its row left as it is (the cron clears
 * a run's recorded rows together, shared/revocation/owed-cutoff-queue.ts).
 * Throws `503 temporarily_unavailable` when the object does not take it.
 */
export async function recordOwedGrantCutoff(
  env: TokenEnv,
  owed: OwedGrantCutoff,
  waitUntil?: (promise: Promise<unknown>) => void,
): Promise<void> {
  try {
    if (owed.userId.length > 0) {
      await recordBrowserGrantRevocation(
        env,
        {
          orgId: owed.orgId,
          grantId: owed.grantId,
          clientId: owed.clientId,
          subject: owed.userId,
          reason: owed.reason,
        },
        waitUntil ? { waitUntil } : {},
      );
    } else {
      // An authn Worker deployed before it named the person: recorded unattributed, never skipped.
      await recordRevocation(env, { orgId: owed.orgId, kind: "grant", value: owed.grantId, reason: owed.reason });
    }
  } catch (error) {
    console.error("browser grant revocation not recorded", owed.orgId, error);
    throw new OAuthError("temporarily_unavailable", "the revocation could not be recorded; retry");
  }
}
