import { decodeJwt } from "jose";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { DpopProofError } from "../../../../shared/dpop/errors.ts";
import { readDpopProofHeader } from "../../../../shared/dpop/read-proof-header.ts";
import { OAuthError } from "../../../../shared/errors/oauth.ts";
import type { TokenConfig } from "../config.ts";

/**
 * RFC 9449 §4.3 step 9 for the browser provider's grants, judged as the
 * provider will judge it, so that a proof is judged once, here.
 *
 * provenDpopKey (token-request-binding.ts) compares `htu` with the
 * advertised token endpoint after RFC 3986 §6.2.2/§6.2.3 normalisation and
 * ignores the fragment, as §4.3 asks. But these grants are handed to the
 * authn Worker, whose Better Auth oauth-provider verifies the proof again
 * (@better-auth/core `verifyDpopProof`): it compares the URLs' WHATWG
 * forms, origin and path with every escape as written, and refuses any
 * `htu` with a fragment. A proof spelling the endpoint `/oauth2/%74oken`,
 * or `/oauth2/token#x`, passed here and was refused there, `400
 * invalid_dpop_proof` in its words, after the code's turn was taken. So a
 * proof for one of these grants (already verified, its `jti` spent) must
 * also name the endpoint in the one form Better Auth takes: else
 * `ERR_DPOP_HTU`, before anything is handed over. The machine grants keep
 * the normalised comparison alone. Nothing to do without a proof.
 */
export function requireBrowserProviderHtu(headers: Headers, config: Pick<TokenConfig, "issuer">): void {
  const proof = readDpopProofHeader(headers);
  if (proof === undefined) return;
  // Verified already: a JWS whose `htu` is a string an absolute http(s) URL parses from.
  const htu = decodeJwt(proof).htu;
  const stated = typeof htu === "string" && URL.canParse(htu) ? new URL(htu) : undefined;
  const endpoint = new URL(`${config.issuer}${ENDPOINT.token}`);
  if (stated === undefined || stated.hash !== "" || whatwgHtu(stated) !== whatwgHtu(endpoint)) {
    throw new OAuthError("invalid_dpop_proof", new DpopProofError("ERR_DPOP_HTU").publicDescription);
  }
}

/** Better Auth's `normalizeDpopHtu`: origin and path as the WHATWG parser writes them, query dropped. */
function whatwgHtu(url: URL): string {
  return `${url.origin}${url.pathname}`;
}
