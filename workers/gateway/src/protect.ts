import { type AuditSink, recordAuditInBackground } from "../../../shared/audit/record-audit.ts";
import { REALM } from "../../../shared/contracts/endpoints.ts";
import { TRUSTED_HEADER } from "../../../shared/contracts/headers.ts";
import type { AccessTokenClaims } from "../../../shared/contracts/tokens.ts";
import { bearerErrorResponse, policyDeniedResponse } from "../../../shared/errors/bearer.ts";
import { httpErrorResponse } from "../../../shared/errors/http.ts";
import { TokenVerificationError } from "../../../shared/jwt/errors.ts";
import { verifyAccessToken } from "../../../shared/jwt/verify-access-token.ts";
import type { CompiledPolicy } from "../../../shared/policy/compile-policy.ts";
import { decide } from "../../../shared/policy/decide.ts";
import { tokenAttributes } from "../../../shared/policy/token-attributes.ts";
import type { DecisionInput } from "../../../shared/policy/types.ts";
import type { GatewayConfig } from "./config.ts";
import { filterDownstreamResponse } from "./forward/downstream-response.ts";
import { setForwardingHeaders } from "./forward/forwarding-headers.ts";
import { proxy } from "./forward/proxy.ts";
import { stripUntrustedHeaders } from "./forward/strip-untrusted-headers.ts";
import type { ProtectedRoute } from "./routes.ts";
import { extractBearerToken } from "./trust/bearer-token.ts";
import { checkDpopBinding, DPOP_CHALLENGE_ALGS } from "./trust/dpop-binding.ts";
import type { DpopReplayCache } from "./trust/dpop-replay-cache.ts";
import type { JwksCache } from "./trust/jwks-cache.ts";
import type { RevocationView } from "./trust/revocation-view.ts";

export interface ProtectDeps {
  config: GatewayConfig;
  jwks: JwksCache;
  revocations: RevocationView;
  /** Isolate-local replay check of DPoP proofs (trust/dpop-replay-cache.ts). */
  dpopReplays: DpopReplayCache;
  /** The org's current policy (policy/policy-store.ts); throws when none can be vouched for. */
  policyFor: (orgId: string) => CompiledPolicy | Promise<CompiledPolicy>;
  upstream: Fetcher;
  audit: AuditSink;
  waitUntil: (promise: Promise<unknown>) => void;
}

/**
 * The policy enforcement point for one protected request: verify the token,
 * check revocation, ask the PDP, then forward with the trusted headers and
 * none of the caller's credentials, and let back only what the identity
 * origin may serve. Every outcome is an audit event sharing the decision id
 * the client sees.
 */
export async function protect(request: Request, route: ProtectedRoute, deps: ProtectDeps): Promise<Response> {
  const decisionId = crypto.randomUUID();
  const url = new URL(request.url);
  const audit = (
    outcome: "allow" | "deny",
    claims: AccessTokenClaims | undefined,
    detail: Record<string, string | readonly string[]>,
  ) =>
    deps.waitUntil(
      recordAuditInBackground(deps.audit, {
        id: decisionId,
        kind: "gateway.decision",
        outcome,
        orgId: claims?.org_id ?? null,
        subject: claims?.sub ?? null,
        actor: claims?.act?.sub ?? null,
        clientId: claims?.client_id ?? null,
        detail: {
          method: request.method,
          path: url.pathname,
          resource: route.resource,
          action: route.action,
          ...detail,
        },
      }),
    );

  if (!route.methods.includes(request.method)) {
    audit("deny", undefined, { error: "method_not_allowed" });
    const response = httpErrorResponse("method_not_allowed", `use ${route.methods.join(" or ")}`);
    response.headers.set("Allow", route.methods.join(", "));
    return response;
  }

  const extracted = extractBearerToken(request.headers, url);
  if (extracted.kind === "absent") {
    audit("deny", undefined, { error: "no_token" });
    return bearerErrorResponse({ realm: REALM });
  }
  if (extracted.kind === "malformed") {
    audit("deny", undefined, { error: "invalid_request" });
    return bearerErrorResponse({ realm: REALM, error: "invalid_request", description: extracted.description });
  }

  let claims: AccessTokenClaims;
  try {
    claims = await verifyAccessToken(extracted.token, {
      issuer: deps.config.issuer,
      audience: deps.config.audience,
      resolveKey: deps.jwks.resolve,
    });
  } catch (error) {
    if (!(error instanceof TokenVerificationError)) throw error;
    audit("deny", undefined, { error: error.code });
    return bearerErrorResponse({
      scheme: extracted.scheme,
      realm: REALM,
      error: "invalid_token",
      description: error.publicDescription,
    });
  }

  // RFC 9449 §7: a DPoP-bound token only with a proof for this request, by its key.
  const dpopRefusal = await checkDpopBinding(
    { request, url, scheme: extracted.scheme, token: extracted.token, claims },
    { origin: new URL(deps.config.issuer).origin, replays: deps.dpopReplays },
  );
  if (dpopRefusal) {
    audit("deny", claims, { error: dpopRefusal.code, jti: claims.jti });
    return bearerErrorResponse({
      scheme: "DPoP",
      realm: REALM,
      error: dpopRefusal.protocolError,
      description: dpopRefusal.publicDescription,
      algs: DPOP_CHALLENGE_ALGS,
    });
  }

  let revoked: boolean;
  try {
    revoked = await deps.revocations.isRevoked(claims);
  } catch (error) {
    // Fail closed: without a view of revocations no newer than the bound,
    // the gateway cannot vouch for the token.
    console.error("revocation state unavailable", error);
    audit("deny", claims, { error: "revocation_state_unavailable" });
    return httpErrorResponse("temporarily_unavailable", "revocation state unavailable, retry");
  }
  if (revoked) {
    const error = new TokenVerificationError("ERR_TOKEN_REVOKED");
    audit("deny", claims, { error: error.code, jti: claims.jti });
    return bearerErrorResponse({
      scheme: extracted.scheme,
      realm: REALM,
      error: "invalid_token",
      description: error.publicDescription,
    });
  }

  let policy: CompiledPolicy;
  try {
    policy = await deps.policyFor(claims.org_id);
  } catch (error) {
    // Fail closed, like revocation: no policy the org published can be loaded, so nothing is decided.
    console.error("policy unavailable", error);
    audit("deny", claims, { error: "policy_unavailable" });
    return httpErrorResponse("temporarily_unavailable", "policy unavailable, retry");
  }
  const decision = decide(policy, decisionInput(claims, route, request, url), decisionId);
  if (decision.effect === "deny") {
    audit("deny", claims, { reason: decision.reason, matched: decision.matched, jti: claims.jti });
    return policyDeniedResponse(decision.id, decision.reason);
  }

  const headers = stripUntrustedHeaders(request.headers, { keepCredentials: false });
  setForwardingHeaders(headers, request);
  headers.set(TRUSTED_HEADER.userId, claims.sub);
  headers.set(TRUSTED_HEADER.orgId, claims.org_id);
  if (claims.act) headers.set(TRUSTED_HEADER.actorId, claims.act.sub);
  // Always sent on an allow (`{}` = everything the route exposes): a
  // downstream refuses a request without it (fails closed).
  headers.set(TRUSTED_HEADER.abacFilter, JSON.stringify(decision.filter));
  audit("allow", claims, { matched: decision.matched, jti: claims.jti });
  const response = await proxy(deps.upstream, request, headers);
  return filterDownstreamResponse(response, url, { allowActiveContent: route.allowActiveContent });
}

function decisionInput(claims: AccessTokenClaims, route: ProtectedRoute, request: Request, url: URL): DecisionInput {
  return {
    ...tokenAttributes(claims),
    resource: { type: route.resource },
    action: route.action,
    context: {
      method: request.method,
      path: url.pathname,
      ip: request.headers.get("CF-Connecting-IP") ?? "",
      // checkDpopBinding above has verified the proof for a cnf.jkt token.
      dpop_bound: claims.cnf?.jkt !== undefined,
    },
  };
}
