import { decodeJwt, decodeProtectedHeader } from "jose";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { JWT_TYP } from "../../../../shared/contracts/tokens.ts";
import { type DpopErrorCode, DpopProofError } from "../../../../shared/dpop/errors.ts";
import { readDpopProofHeader } from "../../../../shared/dpop/read-proof-header.ts";
import { OAuthError } from "../../../../shared/errors/oauth.ts";
import type { TokenConfig } from "../config.ts";

/**
 * RFC 9449 §4.3 for the browser provider's grants, judged as the provider
 * will judge it, so that a proof is judged once, here.
 *
 * provenDpopKey (token-request-binding.ts) has verified the proof as for
 * every grant (shared/dpop/verify-dpop-proof.ts). But these grants are
 * handed to the authn Worker, whose Better Auth oauth-provider verifies the
 * proof again (@better-auth/core `verifyDpopProof`), stricter in three places,
 * and a proof it refused was answered `400 invalid_dpop_proof` in its words,
 * after the code's or refresh token's turn was taken. So a proof for one of
 * these grants (already verified, its `jti` spent) must also be one Better
 * Auth takes, else it is refused here with our code, before anything is
 * handed over. The machine grants keep the shared reading of all three.
 * Nothing to do without a proof.
 *
 * - Step 4, `typ`: the shared check reads it as RFC 7515 §4.1.9 has a media
 *   type read (case-insensitive, `application/` optional), as jose does;
 *   Better Auth compares it with `dpop+jwt` exactly, RFC 9449 §4.2's value.
 *   `application/dpop+jwt` or `DPoP+JWT` is `ERR_DPOP_TYP`.
 * - Step 9, `htu`: the shared check compares it with the advertised token
 *   endpoint after RFC 3986 §6.2.2/§6.2.3 normalisation and ignores the
 *   fragment, as §4.3 asks; Better Auth compares the URLs' WHATWG forms,
 *   origin and path with every escape as written, and refuses any `htu`
 *   with a fragment. `/oauth2/%74oken` or `/oauth2/token#x` is
 *   `ERR_DPOP_HTU`.
 * - `exp` and `nbf` (RFC 7519 §4.1.4, §4.1.5): the shared check allows
 *   CLOCK_TOLERANCE_SECONDS of skew, as for `iat`; Better Auth's jose
 *   `jwtVerify` is called with none. An `exp` at or before now is
 *   `ERR_DPOP_EXP`, an `nbf` after now `ERR_DPOP_NBF`.
 *
 * The order is §4.3's (and Better Auth's): a proof failing both is refused
 * for its `typ`. The time claims come last, as in the shared check (Better
 * Auth reads them with the signature; the proof is refused here either way).
 */
export function requireBrowserProviderProof(headers: Headers, config: Pick<TokenConfig, "issuer">): void {
  const proof = readDpopProofHeader(headers);
  if (proof === undefined) return;
  // Verified already: a JWS whose header has a string `typ`, and whose `htu` an absolute http(s) URL parses from.
  if (decodeProtectedHeader(proof).typ !== JWT_TYP.dpopProof) refuse("ERR_DPOP_TYP");
  const claims = decodeJwt(proof);
  const htu = claims.htu;
  const stated = typeof htu === "string" && URL.canParse(htu) ? new URL(htu) : undefined;
  const endpoint = new URL(`${config.issuer}${ENDPOINT.token}`);
  if (stated === undefined || stated.hash !== "" || whatwgHtu(stated) !== whatwgHtu(endpoint)) {
    refuse("ERR_DPOP_HTU");
  }
  // Verified already: when present, each is a finite number within the shared check's tolerance.
  const now = Math.floor(Date.now() / 1000);
  if (claims.exp !== undefined && claims.exp <= now) refuse("ERR_DPOP_EXP");
  if (claims.nbf !== undefined && claims.nbf > now) refuse("ERR_DPOP_NBF");
}

function refuse(code: DpopErrorCode): never {
  throw new OAuthError("invalid_dpop_proof", new DpopProofError(code).publicDescription);
}

/** Better Auth's `normalizeDpopHtu`: origin and path as the WHATWG parser writes them, query dropped. */
function whatwgHtu(url: URL): string {
  return `${url.origin}${url.pathname}`;
}
