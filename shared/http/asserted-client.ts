import { decodeJwt } from "jose";
import { CLIENT_ASSERTION_TYPE_JWT_BEARER } from "../contracts/tokens.ts";

/**
 * The client a `private_key_jwt` assertion names, read WITHOUT verifying it
 * (RFC 7523 §3: `sub` is the client's id, and so is `iss`; RFC 7521 §4.2
 * makes `client_id` optional beside an assertion). Only to route or name a
 * request whose verifier, Better Auth, reads the client the same way (`sub`,
 * else `iss`, and it checks both equal the client before it trusts either):
 * never to authenticate it. Undefined unless `client_assertion_type` is
 * RFC 7523's and the assertion decodes.
 */
export function assertedClient(assertionType: string | null | undefined, assertion: string | null | undefined) {
  if (assertionType !== CLIENT_ASSERTION_TYPE_JWT_BEARER || !assertion) return undefined;
  try {
    const claims = decodeJwt(assertion);
    const named = claims.sub ?? claims.iss;
    return typeof named === "string" && named.length > 0 ? named : undefined;
  } catch {
    return undefined;
  }
}
