import type { JWSAlgorithms } from "better-auth/plugins";
import { DPOP_SIGNING_ALGS } from "../../../../shared/contracts/tokens.ts";

/**
 * How the browser provider's Better Auth verifies a DPoP proof (RFC 9449
 * §4.3 step 5): with the algorithms the issuer's metadata advertises
 * (`dpop_signing_alg_values_supported`, shared/contracts/tokens.ts), the
 * list the token Worker verifies every grant's proof with before it hands
 * these grants over. With Better Auth's defaults (EdDSA, ES256, ES512,
 * PS256, RS256) an ES384 proof, advertised and accepted there, was refused
 * here as "DPoP proof uses an unsupported JWS algorithm", so a client that
 * chose ES384 could redeem no code and refresh nothing. ES512, which Better
 * Auth would take, never reaches it: the token Worker refuses it.
 *
 * The provider (auth/plugins/oauth-provider.ts: its token, userinfo and
 * introspection checks) and the code pre-check (live-code-dpop.ts) both
 * read this. Better Auth's option is typed with its jwt plugin's signing
 * algorithms, which lack ES384, but its verifier (@better-auth/core
 * `verifyDpopProof`) takes any list of names and jose verifies ES384 with
 * it; test/token/oidc-dpop.test.ts binds a code's and a refresh's tokens
 * with a proof of each algorithm, so an upgrade that stopped honouring one
 * fails there.
 */
export const BROWSER_PROVIDER_DPOP = {
  signingAlgorithms: [...DPOP_SIGNING_ALGS] as string[] as JWSAlgorithms[],
};
