import type { AccessTokenClaims, ActorClaim } from "../contracts/tokens.ts";
import { POLICY_LIMITS } from "./limits.ts";
import type { ActorAttributes, SubjectAttributes } from "./types.ts";

/**
 * The `subject` and, for a delegated token, the `actor` a decision sees,
 * from a verified access token: one mapping, so the gateway and anyone
 * replaying a decision read the same claims the same way.
 */
export function tokenAttributes(claims: AccessTokenClaims): { subject: SubjectAttributes; actor?: ActorAttributes } {
  const subject: SubjectAttributes = {
    id: claims.sub,
    org_id: claims.org_id,
    client_id: claims.client_id,
    roles: claims.roles ?? [],
    // RFC 6749 §3.3: space-delimited.
    scope: claims.scope ? claims.scope.split(" ").filter(Boolean) : [],
  };
  return claims.act ? { subject, actor: actorAttributes(claims.act) } : { subject };
}

/** RFC 8693 §4.1: the outermost `act` is the current actor; the ones nested inside acted before it. */
function actorAttributes(act: ActorClaim): ActorAttributes {
  const chain: string[] = [];
  // A chain longer than the input limit is refused by decide() as input_too_large; stop reading there.
  for (let a: ActorClaim | undefined = act; a && chain.length <= POLICY_LIMITS.inputListItems; a = a.act) {
    chain.push(a.sub);
  }
  return { id: act.sub, client_id: act.client_id ?? "", chain };
}
