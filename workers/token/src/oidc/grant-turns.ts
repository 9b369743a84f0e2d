import { OIDC_GRANT_TYPE } from "../../../../shared/contracts/oidc.ts";
import { BROWSER_GRANT_SHARDS, REPLAY_SCOPE, replayGuardName } from "../../../../shared/contracts/replay.ts";
import { OAuthError } from "../../../../shared/errors/oauth.ts";

/** Longer than any one hand-over to the provider takes; a turn whose request died ends by then. */
const TURN_LEASE_MS = 10_000;

/** The form field that holds each single-use browser grant. */
const SINGLE_USE_FIELD: Readonly<Record<string, string>> = {
  [OIDC_GRANT_TYPE.authorizationCode]: "code",
  [OIDC_GRANT_TYPE.refreshToken]: "refresh_token",
};

/**
 * Runs `use` once no other request is using the same code or refresh token.
 *
 * The provider (Better Auth) spends a code or rotates a refresh token with a
 * conditional update, so only one of several overlapping requests wins; but
 * what a replay must also do — RFC 6749 §4.1.2 revoke the tokens the code
 * yielded, RFC 9700 §4.14.2 end the refresh token's family — it does by
 * reading the rows the winner writes. A loser that looks before the winner
 * has written its tokens finds nothing to revoke, and the winner's tokens
 * live on. Taken in turns (the ReplayGuard object, strongly consistent), each
 * later request starts only after the earlier one has finished, so it sees
 * the spent code or rotated token and revokes what it yielded. A revocation
 * of a refresh token takes the same turns (oidc/browser-revocation.ts), with
 * its own refusal (`busy`) when too many wait.
 */
export async function oneUseAtATime<T>(
  env: Pick<TokenEnv, "REPLAY_GUARD">,
  grantType: string,
  params: ReadonlyMap<string, string>,
  use: () => Promise<T>,
  busy: () => OAuthError = () => new OAuthError("invalid_grant", "grant is being used by another request"),
): Promise<T> {
  const field = SINGLE_USE_FIELD[grantType];
  const grant = field === undefined ? undefined : params.get(field);
  // Without one the provider refuses the request itself (invalid_request).
  if (grant === undefined || grant === "") return use();
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${grantType}\n${grant}`)),
  );
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
