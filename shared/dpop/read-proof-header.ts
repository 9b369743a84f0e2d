import { DPOP_HEADER } from "../contracts/headers.ts";
import { DpopProofError } from "./errors.ts";

/** Larger proofs are refused before any parsing (an RSA-4096 `jwk` fits well under it). */
export const MAX_DPOP_PROOF_BYTES = 8192;

/**
 * The DPoP proof a request carries (RFC 9449 §4.1), or undefined when it has
 * none. §4.3 step 1: there must not be more than one `DPoP` header. Fetch
 * joins repeated fields with ", ", and a JWS compact serialisation holds
 * neither commas nor whitespace, so a joined value is told apart from one
 * proof without parsing it.
 */
export function readDpopProofHeader(headers: Headers): string | undefined {
  const value = headers.get(DPOP_HEADER.proof);
  if (value === null) return undefined;
  if (/[,\s]/.test(value.trim())) throw new DpopProofError("ERR_DPOP_MULTIPLE");
  if (value.length > MAX_DPOP_PROOF_BYTES) throw new DpopProofError("ERR_DPOP_MALFORMED", "proof too large");
  return value.trim();
}
