import { isDpopProofError, verifyDpopProof } from "better-auth/oauth2";
import type { BrowserGrantAnswer } from "../../../../shared/contracts/oidc-grants.ts";
import { BROWSER_PROVIDER_DPOP } from "./dpop-proof-options.ts";

/** A code grant's DPoP proof (RFC 9449 §4), as the token Worker handed it over, and the URL it must name. */
export interface PresentedProof {
  /** The `DPoP` header as sent: the token Worker verified it before the hand-over (its dpop/token-request-binding.ts). */
  proof: string | undefined;
  /** The issuer's advertised token endpoint: the URL Better Auth's endpoint sees (oidc/addressed-request.ts). */
  tokenEndpoint: string;
}

/**
 * RFC 9449 §10: a code requested with `dpop_jkt` is bound to that key, and
 * the token request must carry a proof of it; so must every request of a
 * client registered with `dpop_bound_access_tokens` (§5.2; `clientRequiresDpop`,
 * from its row or its metadata document). Better Auth checks both only as
 * it issues the tokens, after it has spent the code, so a request
 * without the key's proof burned the code and the person's sign-in failed.
 * Here, before the hand-over, in Better Auth's words and codes (its
 * `resolveDpopTokenBinding`, 400 `invalid_dpop_proof`): no proof, "DPoP
 * proof header is required"; a proof of another key (§10: the server
 * "MUST ... check that the JWK thumbprint of the key ... matches"), "DPoP
 * proof key does not match the bound token". Better Auth verifies any
 * proof it is handed there too, bound code or not, so a proof it would
 * refuse that the token Worker accepted is refused here with its
 * description as well.
 *
 * The proof is checked with Better Auth's own `verifyDpopProof`, against the
 * URL its endpoint is handed, so the thumbprint it compares is of a key whose
 * signature on the proof has been verified (as the token Worker verified it
 * before the hand-over), never of a key an unchecked header merely names.
 * Its `jti` is not reserved here: Better Auth does, once, when it verifies
 * the same proof as it issues (and the token Worker has spent it in its
 * ReplayGuard already). Undefined: the binding holds, hand the request over.
 */
export async function dpopBindingRefusal(
  dpopJkt: string | undefined,
  presented: PresentedProof,
  clientRequiresDpop: boolean,
): Promise<BrowserGrantAnswer | undefined> {
  if (!presented.proof) {
    const required = dpopJkt !== undefined || clientRequiresDpop;
    return required ? invalidDpopProof("DPoP proof header is required") : undefined;
  }
  try {
    // The provider's own options (dpop-proof-options.ts: the advertised algorithms; its default age window).
    await verifyDpopProof({
      proofJwt: presented.proof,
      method: "POST",
      url: presented.tokenEndpoint,
      expectedJkt: dpopJkt,
      signingAlgorithms: BROWSER_PROVIDER_DPOP.signingAlgorithms,
    });
    return undefined;
  } catch (error) {
    if (isDpopProofError(error)) return invalidDpopProof(error.message);
    throw error;
  }
}

function invalidDpopProof(description: string): BrowserGrantAnswer {
  return { status: 400, body: JSON.stringify({ error: "invalid_dpop_proof", error_description: description }) };
}
