import { OIDC_GRANT_TYPE } from "../../../../shared/contracts/oidc.ts";
import { NO_STORE_HEADERS, OAuthError } from "../../../../shared/errors/oauth.ts";
import { COMPACT_JWS } from "../../../../shared/jwt/compact-jws.ts";
import { tokenConfig } from "../config.ts";
import { MANAGEMENT_ENDPOINT_FORM, readTokenRequestForm } from "../http/read-form.ts";
import { readPresentedToken } from "../presented-tokens/read-presented-token.ts";
import { oidcGrants, restatedError } from "./forward-browser-grant.ts";
import { storedTokenForm } from "../../../../shared/oidc/stored-token.ts";
import {
  clearOwedGrantCutoff,
  type OwedGrantCutoff,
  oweGrantCutoff,
} from "../../../../shared/revocation/owed-grant-cutoffs.ts";
import { endGrantAccessTokens, owedCutoffOf, settleOwedGrantCutoff } from "./grant-cutoff.ts";
import { type GrantTurn, grantTurn, oneUseAtATime } from "./grant-turns.ts";
import { owedByRetriedToken } from "./owed-grant-cutoffs.ts";
import { namedClient } from "./named-client.ts";
import { isBrowserClientId } from "./sign-browser-token.ts";

/**
 * What Better Auth's revocation answers, once it has authenticated the
 * client, for a token it holds no live row of: unknown, already revoked, or
 * not a token of its kind. RFC 7009 §2.2 answers all of them 200 ("invalid
 * tokens do not cause an error response"); Better Auth means to as well
 * (its `revokeEndpoint` returns nothing for a BAD_REQUEST), but tests the
 * error's `name`, which is never that, so they reach us as `400
 * invalid_request`. Its refusals before the client is authenticated (no
 * `token`, a malformed Authorization header) say something else and stay
 * refusals.
 */
const NOTHING_TO_REVOKE: ReadonlySet<string> = new Set([
  "token not found",
  "refresh token not found",
  "refresh token revoked",
  "Invalid access token",
  "opaque access token not found",
  "invalid JWT signature",
]);

function nothingToRevoke(answer: { status: number; body: string }): boolean {
  if (answer.status !== 400) return false;
  try {
    const body = JSON.parse(answer.body) as { error?: unknown; error_description?: unknown };
    return (
      (body.error === "invalid_request" || body.error === "invalid_token") &&
      typeof body.error_description === "string" &&
      NOTHING_TO_REVOKE.has(body.error_description)
    );
  } catch {
    return false;
  }
}

/**
 * ENDPOINT.revocation (RFC 7009) for a browser client (`oidc_…`, or an MCP
 * client named by its metadata document's https URL): its
 * refresh tokens live in the authn Worker, so the request goes there over
 * the OIDC_GRANTS entrypoint, which authenticates the client and revokes
 * (§2.2: 200 also for a token that is unknown or already gone, NOTHING_TO_REVOKE).
 * A JWT is never one of its refresh tokens or opaque access tokens, so it
 * is looked up as a refresh token only (`token_type_hint` is the server's
 * to ignore, §2.1): Better Auth would otherwise verify it against the
 * issuer's JWKS over the network, and a failed fetch was a 500 for the
 * client's revocation. Any other token is hinted as what it is, whatever
 * the client's hint said: a refresh token when a refresh token row holds it
 * (the authn Worker looks, by the row read here to find the token's grant), an opaque access token otherwise. Better Auth
 * searches only the hinted type where §2.1 says a server MUST extend its
 * search (a refresh token sent with `access_token` was answered 200 and left
 * live), and without a hint it takes an already revoked refresh token for
 * an unknown token. Once the client is authenticated, a JWT we signed
 * and that still verifies is `unsupported_token_type` (§2.2.1: browser JWT
 * access tokens are not revoked by `jti`, docs/authn.md), any other 200.
 *
 * §2.1: revoking a refresh token also ends every access token of its grant.
 * The authn Worker names the grant whose refresh token it revoked or found
 * revoked (its `endedGrant`); it is recorded as a `grant` revocation in the
 * grant's org before the 200, and `503 temporarily_unavailable` if it
 * cannot be. The cut-off is owed (D1 `owed_grant_cutoff`) before Better
 * Auth is handed the token, since a retry hands it an already revoked token
 * and its reuse rule deletes the rows the grant is read from: the retry
 * with the same token records what is owed before anything else (503 while
 * it cannot), and the cron records it if no retry comes. A refresh token is revoked in its grant's turn,
 * which every refresh grant of the grant takes too (oidc/grant-turns.ts), so
 * a refresh in flight, of this token or of any other of its family, has
 * rotated it and written its successor before the revocation looks: Better
 * Auth then ends the whole family, successor included, where with the two
 * interleaved a successor written after its family teardown lived on.
 * Undefined for any other client: the token Worker's own revocation handles
 * it. A refusal is thrown as its OAuthError for the endpoint to answer.
 */
export async function browserRevocation(env: TokenEnv, request: Request): Promise<Response | undefined> {
  const params = await readTokenRequestForm(request.clone(), MANAGEMENT_ENDPOINT_FORM);
  const clientId = namedClient(params, request.headers);
  if (!clientId || !isBrowserClientId(clientId)) return undefined;
  const token = params.get("token");
  const jwt = token !== undefined && COMPACT_JWS.test(token);
  const form = new URLSearchParams([...params]);
  // The authn Worker hints `refresh_token` when one of its rows holds the token (oidc/browser-grant.ts).
  form.set("token_type_hint", jwt ? "refresh_token" : "access_token");
  const optional = (name: string) => request.headers.get(name) ?? undefined;
  // The refresh token's grant, whose turn its refresh grants take too (grant-turns.ts).
  const turn = jwt ? { key: undefined } : await grantTurn(env, OIDC_GRANT_TYPE.refreshToken, token);
  const presented = token !== undefined && token !== "" && !jwt ? await storedTokenForm(token) : undefined;
  const reason = `rfc7009 refresh token by ${clientId}`;
  const { answer, owing, settled } = await oneUseAtATime(
    env,
    turn,
    async () => {
      const settled = presented !== undefined ? await settleEarlierCutoffs(env, turn, presented) : undefined;
      const owing =
        presented !== undefined ? await oweBeforeHandOver(env, clientId, turn, presented, reason, settled) : undefined;
      const answer = await oidcGrants(env).revoke({
        form: form.toString(),
        authorization: optional("Authorization"),
        clientAddress: optional("cf-connecting-ip"),
        ...(turn.presented !== undefined ? { presented: turn.presented } : {}),
      });
      if (owing && answer.endedGrant?.grantId !== owing.grantId) {
        await withdraw(env, owing);
        return { answer, settled };
      }
      return { answer, owing, settled };
    },
    () => new OAuthError("temporarily_unavailable", "the token is being used by other requests; retry"),
  );
  const ended = answer.endedGrant;
  if (owing && ended?.grantId === owing.grantId) {
    await settleOwedGrantCutoff(env, owing);
  } else if (ended === undefined || ended.grantId !== settled) {
    // Recorded already when it is the grant whose owed cut-off the retry settled first.
    await endGrantAccessTokens(env, clientId, ended, reason, presented ?? "");
  }
  const revoked = new Response(null, { status: 200, headers: NO_STORE_HEADERS });
  if (answer.status === 200) return revoked;
  if (!nothingToRevoke(answer)) throw restatedError(answer.body);
  if (jwt && (await readPresentedToken(token, { env, config: tokenConfig(env) })).kind !== "unknown") {
    throw new OAuthError("unsupported_token_type", "a browser client's JWT access tokens are not revoked by jti");
  }
  return revoked;
}

/**
 * A retry of a revocation that answered 503: the cut-off its grant still
 * owes (shared/revocation/owed-grant-cutoffs.ts), found by the token's stored
 * form, is recorded before anything is answered, and `503
 * temporarily_unavailable` again, the row kept, if it still cannot be:
 * Better Auth, finding the token revoked or its family deleted, would
 * otherwise answer 200 with the grant's access tokens live. Looked for
 * only when the token's row is revoked or gone, as an earlier attempt
 * leaves it; a live token's revocation reads nothing more. Returns the
 * grant it recorded.
 */
async function settleEarlierCutoffs(env: TokenEnv, turn: GrantTurn, presented: string): Promise<string | undefined> {
  if (turn.presented !== null && turn.presented?.revoked !== true) return undefined;
  let settled: string | undefined;
  for (const owed of await owedByRetriedToken(env, presented)) {
    await settleOwedGrantCutoff(env, owed);
    settled = owed.grantId;
  }
  return settled;
}

/**
 * The grant's cut-off, owed before Better Auth is handed the token: it
 * revokes it, or finds it revoked and deletes the token's whole family (its
 * reuse rule), and with it the row the grant is read from; owed from the
 * row the token Worker read (server-held), it survives a recording that
 * fails then. Only for the named client's own token (Better Auth revokes
 * nothing of another client's). Returns the row when this request wrote it
 * (`503` if it could not, before anything is revoked), so a refusal of the
 * client withdraws it; a row an earlier attempt wrote stays.
 */
async function oweBeforeHandOver(
  env: TokenEnv,
  clientId: string,
  turn: GrantTurn,
  presented: string,
  reason: string,
  settled: string | undefined,
): Promise<OwedGrantCutoff | undefined> {
  const owed = owedCutoffOf(clientId, turn.presented ?? undefined, presented, reason);
  if (!owed || owed.grantId === settled) return undefined;
  try {
    return (await oweGrantCutoff(env.DB, owed)) ? owed : undefined;
  } catch (error) {
    console.error("browser grant cut-off not owed", owed.orgId, error);
    throw new OAuthError("temporarily_unavailable", "the revocation could not be recorded; retry");
  }
}

/**
 * Better Auth ended no grant (it refused the client): the row owed before
 * the hand-over is withdrawn. Should that fail (logged), the cron records
 * the cut-off of a grant that did not end: its access tokens are refused
 * from then on though its refresh token lives, and the person authorizes
 * the client again (fail closed).
 * A hand-over that throws (the authn Worker unreachable) withdraws nothing
 * either: whether Better Auth revoked the token is unknown, and the owed
 * cut-off is the side that fails closed.
 */
async function withdraw(env: TokenEnv, owed: OwedGrantCutoff): Promise<void> {
  await clearOwedGrantCutoff(env.DB, owed.grantId).catch((error: unknown) => {
    console.error("browser grant cut-off owed but not withdrawn", owed.orgId, error);
  });
}
