import { isHeaderSafeIdentifier } from "../../../../shared/contracts/headers.ts";
import type { AccessTokenClaims } from "../../../../shared/contracts/tokens.ts";
import type { SavedTokenRefusal, SavedTokenResult, VaultServiceRpc } from "../../../../shared/contracts/vault.ts";
import { policyDeniedResponse } from "../../../../shared/errors/bearer.ts";
import { httpErrorResponse } from "../../../../shared/errors/http.ts";

/** The token Worker's `VaultService` entrypoint as the gateway binds it (wrangler.toml `VAULT_SERVICE`). */
export type VaultServiceBinding = Service<VaultServiceRpc & Rpc.WorkerEntrypointBranded>;

/** The vault's RPC entrypoint as the gateway binds it (wrangler.toml `VAULT_SERVICE`). */
export function vaultService(env: Pick<GatewayEnv, "VAULT_SERVICE">): VaultServiceBinding {
  return env.VAULT_SERVICE as unknown as VaultServiceBinding;
}

/**
 * The vault's refusals, and the gateway's own: `saved_token_unusable`, a
 * saved token that is no `Authorization` field value (below).
 */
export type GatewaySavedTokenRefusal = SavedTokenRefusal | "saved_token_unusable";

export type GatewaySavedTokenResult =
  | Extract<SavedTokenResult, { ok: true }>
  | { ok: false; refusal: GatewaySavedTokenRefusal; connectionId?: string };

/**
 * Asks the token Worker for the saved token this request may use
 * (shared/contracts/vault.ts). The gateway holds no VAULT_KEY and decides
 * nothing about connections itself: the token Worker, which holds the key,
 * checks who may use which connection (least privilege: a flaw in the
 * internet-facing Worker can obtain one token for one authorised request,
 * audited, never the key that opens every org's tokens). The agent is the
 * actor of a delegated request, else the client the token was issued to.
 */
export async function savedTokenFor(
  vault: VaultServiceBinding | undefined,
  resource: string,
  claims: AccessTokenClaims,
  decisionId: string,
  forceRefresh = false,
): Promise<GatewaySavedTokenResult> {
  if (!vault) return { ok: false, refusal: "vault_unavailable" };
  let result: SavedTokenResult;
  try {
    result = await vault.savedToken({
      orgId: claims.org_id,
      subject: claims.sub,
      agentClientId: claims.act?.client_id ?? claims.client_id,
      resource,
      decisionId,
      forceRefresh,
    });
  } catch (error) {
    console.error("vault service unreachable", error);
    return { ok: false, refusal: "vault_unavailable" };
  }
  // The token is the provider's text, stored as it answered. RFC 9110 §5.5: a field value has no
  // CR, LF, NUL or other control character, nor edge whitespace; the runtime throws on the first
  // three when the header is set (a 500 for the caller, with no audit record) and trims the last.
  // The connection is unusable until its owner reconnects: never the token in the log or the answer.
  if (result.ok && !isHeaderSafeIdentifier(result.authorization)) {
    console.error("saved token is no header value", { connection_id: result.connectionId });
    return { ok: false, refusal: "saved_token_unusable", connectionId: result.connectionId };
  }
  return result;
}

/**
 * A refusal as the caller sees it: the policy-denial 403 (`access_denied`,
 * the refusal as its reason, the decision id), 503 when the vault could
 * not answer (fail closed: the request is never sent without its token),
 * or, for a saved token that cannot be sent, the 502 of a saved token the
 * upstream would not take: the caller's own token was good, and it can
 * neither see nor fix the saved one.
 */
export function savedTokenRefusedResponse(decisionId: string, refusal: GatewaySavedTokenRefusal): Response {
  if (refusal === "vault_unavailable")
    return httpErrorResponse("temporarily_unavailable", "saved token unavailable, retry");
  if (refusal === "saved_token_unusable")
    return httpErrorResponse(
      "upstream_response_refused",
      "ERR_SAVED_TOKEN_UNUSABLE: the saved connection's token cannot be sent to the service; this is not about your token",
    );
  return policyDeniedResponse(decisionId, refusal);
}

/**
 * RFC 6750 §3.1: an upstream that answers 401 to the saved token we sent
 * has revoked or expired it early; refresh it once and send the request
 * again, when the request can be sent again (no body, or a body the gateway
 * already read). A refresh that fails leaves the upstream's 401 as the answer.
 */
export async function retryOnUpstream401(
  first: Response,
  options: {
    replayable: boolean;
    refresh: () => Promise<GatewaySavedTokenResult>;
    send: (authorization: string) => Promise<Response>;
  },
): Promise<Response> {
  if (first.status !== 401 || !options.replayable) return first;
  const refreshed = await options.refresh();
  if (!refreshed.ok) return first;
  await first.body?.cancel();
  return options.send(refreshed.authorization);
}
