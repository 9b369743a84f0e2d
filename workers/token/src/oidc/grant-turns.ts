import { OIDC_GRANT_TYPE } from "../../../../shared/contracts/oidc.ts";
import type { PresentedRefreshToken } from "../../../../shared/contracts/oidc-grants.ts";
import { BROWSER_GRANT_SHARDS, REPLAY_SCOPE, replayGuardName } from "../../../../shared/contracts/replay.ts";
import { OAuthError } from "../../../../shared/errors/oauth.ts";
import { codeGrantId, readRefreshTokenRow } from "../../../../shared/oidc/browser-grant-row.ts";

/** Longer than any one hand-over to the provider takes; a turn whose request died ends by then. */
const TURN_LEASE_MS = 10_000;

/**
 * Whose turn a request takes: the grant's, when the presented code or
 * refresh token names one, else the token's own. `presented` is the refresh
 * token's row as read to find the grant (`null`: no row holds it), handed
 * on so the provider reads it no second time.
 */
export interface GrantTurn {
  /** Undefined: nothing presented, and the provider refuses the request itself (invalid_request). */
  key: string | undefined;
  presented?: PresentedRefreshToken | null;
}

/**
 * The turn for a code (`authorization_code`) or a refresh token
 * (`refresh_token`; an RFC 7009 revocation names its token so too). Every
 * use of one authorization's family takes the turn of its grant — the
 * code's stored form, which every refresh token row of the grant carries as
 * `authorization_code_id` (shared/oidc/browser-grant-row.ts) — whichever of
 * its tokens it presents: a code needs no read for it, a refresh token one
 * indexed read by its stored form, the only read of ours on the refresh
 * path (the provider is handed the row). A token no row holds, and a code
 * never issued, have nothing to race: the token's own turn.
 */
export async function grantTurn(
  env: Pick<TokenEnv, "DB">,
  grantType: string,
  token: string | undefined,
): Promise<GrantTurn> {
  if (token === undefined || token === "") return { key: undefined };
  if (grantType === OIDC_GRANT_TYPE.authorizationCode) return { key: `grant\n${await codeGrantId(token)}` };
  if (grantType !== OIDC_GRANT_TYPE.refreshToken) return { key: undefined };
  const presented = (await readRefreshTokenRow(env.DB, token)) ?? null;
  return { key: presented?.grantId ? `grant\n${presented.grantId}` : `token\n${token}`, presented };
}

/**
 * Runs `use` once no other request is using the same grant.
 *
 * The provider (Better Auth) spends a code or rotates a refresh token with a
 * conditional update, so only one of several overlapping requests wins; but
 * what a replay must also do — RFC 6749 §4.1.2 revoke the tokens the code
 * yielded, RFC 9700 §4.14.2 end the refresh token's family — it does by
 * reading the rows the winner writes. A loser that looks before the winner
 * has written its tokens finds nothing to revoke, and the winner's tokens
 * live on. Taken in turns (the ReplayGuard object, strongly consistent), each
 * later request starts only after the earlier one has finished, so it sees
 * the spent code or rotated token and revokes what it yielded. The turn is
 * the grant's, not the token's: a teardown presented with one token of the
 * family (a rotated refresh token revoked or used again, the code replayed)
 * and a refresh presented with another would otherwise interleave, and the
 * refresh write its successor after the family was deleted, a refresh token
 * that outlives the grant's revocation entry. A revocation of a refresh
 * token takes the same turns (oidc/browser-revocation.ts), with its own
 * refusal (`busy`) when too many wait.
 */
export async function oneUseAtATime<T>(
  env: Pick<TokenEnv, "REPLAY_GUARD">,
  turn: GrantTurn,
  use: () => Promise<T>,
  busy: () => OAuthError = () => new OAuthError("invalid_grant", "grant is being used by another request"),
): Promise<T> {
  if (turn.key === undefined) return use();
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(turn.key)));
  const value = `grant:${[...digest].map((byte) => byte.toString(16).padStart(2, "0")).join("")}`;
  const guard = env.REPLAY_GUARD.getByName(
    replayGuardName(REPLAY_SCOPE.browserGrant((digest[0] ?? 0) % BROWSER_GRANT_SHARDS)),
  );
  const holder = crypto.randomUUID();
  // So many requests at once for one grant are replays; whichever of them got in line ends the family anyway.
  if (!(await guard.takeTurn(value, holder, TURN_LEASE_MS))) throw busy();
  try {
    return await use();
  } finally {
    // Should the object not hear it, the lease ends the turn.
    await guard.endTurn(value, holder).catch(() => undefined);
  }
}
