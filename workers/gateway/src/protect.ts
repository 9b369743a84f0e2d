import { type AuditSink, recordAuditInBackground } from "../../../shared/audit/record-audit.ts";
import { REALM } from "../../../shared/contracts/endpoints.ts";
import { FORWARDING_HEADER, TRUSTED_HEADER } from "../../../shared/contracts/headers.ts";
import type { AccessTokenClaims } from "../../../shared/contracts/tokens.ts";
import { type BearerChallenge, bearerErrorResponse, policyDeniedResponse } from "../../../shared/errors/bearer.ts";
import { httpErrorResponse } from "../../../shared/errors/http.ts";
import { timeOrderedId } from "../../../shared/ids/time-ordered-id.ts";
import { loggablePath } from "../../../shared/observability/log.ts";
import type { CompiledPolicy } from "../../../shared/policy/compile-policy.ts";
import { decide } from "../../../shared/policy/decide.ts";
import type { AssertionSigner } from "./assertion/assertion-signer.ts";
import { filterDownstreamResponse } from "./forward/downstream-response.ts";
import { optionsAsFinalRecipient } from "./forward/method-gate.ts";
import { setForwardingHeaders } from "./forward/forwarding-headers.ts";
import { proxy } from "./forward/proxy.ts";
import { stripUntrustedHeaders } from "./forward/strip-untrusted-headers.ts";
import { setRequestId } from "./observability/request-id.ts";
import { type McpRequest, McpRequestError, readMcpRequest } from "./mcp/read-mcp-request.ts";
import { type UpstreamRefusal, upstreamRefusedResponse } from "./mcp/registered-route.ts";
import type { ToolGate } from "./mcp/tool-gate.ts";
import { decisionInput } from "./policy/decision-input.ts";
import type { ProtectedRoute } from "./routing/match-route.ts";
import { type AuthenticateDeps, authenticate } from "./trust/authenticate.ts";
import {
  retryOnUpstream401,
  savedTokenFor,
  savedTokenRefusedResponse,
  type VaultServiceBinding,
} from "./vault/saved-token.ts";

export interface ProtectDeps extends AuthenticateDeps {
  /** The org's current policy (policy/policy-store.ts); throws when none can be vouched for. */
  policyFor: (orgId: string) => CompiledPolicy | Promise<CompiledPolicy>;
  /** Signs the assertion sent upstream (assertion/assertion-signer.ts). */
  signer: Promise<AssertionSigner>;
  upstream: Fetcher;
  /** Where the request goes: the upstream's URL for the normalised path (forward/upstream.ts). */
  target: string;
  /** An MCP route's per-tool rule from the registry (mcp/tool-gate.ts), asked before the PDP. */
  mcpToolGate?: (claims: AccessTokenClaims, mcp: McpRequest) => Promise<ToolGate>;
  /** A registered MCP server's route serves one org (mcp/registered-route.ts); a token of another is refused. */
  onlyOrgId?: string;
  /** A registered MCP server's upstream the gateway will not fetch (mcp/registered-route.ts), told only to its org's verified callers. */
  upstreamRefusal?: UpstreamRefusal;
  /** A registered MCP server's scopes for a challenge before the token is verified (mcp/registered-route.ts). */
  unverifiedScopes?: readonly string[];
  audit: AuditSink;
  /** The token Worker's vault (vault/saved-token.ts), for routes served with a saved connection. */
  vault?: VaultServiceBinding;
  waitUntil: (promise: Promise<unknown>) => void;
  /** The gateway's id for this request, forwarded upstream (observability/request-id.ts); index.ts always gives one. */
  requestId?: string;
}

type AuditDetail = Record<string, string | readonly string[]>;

/**
 * The policy enforcement point for one protected request: verify the token
 * for this route's audience, check revocation, check the route's scopes,
 * read an MCP request's method and tool, ask the PDP, then forward with the
 * trusted headers, the signed assertion and none of the caller's
 * credentials, and let back only what the identity origin may serve. Every
 * outcome is an audit event sharing the decision id the client sees.
 *
 * `path` is the normalised path (routing/normalise-path.ts): decided on,
 * audited and forwarded alike.
 */
export async function protect(
  request: Request,
  url: URL,
  path: string,
  route: ProtectedRoute,
  deps: ProtectDeps,
): Promise<Response> {
  const decisionId = timeOrderedId();
  // Read once: it is a getter into the runtime, and this path needs it several times.
  const method = request.method;
  const mcpTrail: AuditDetail = {};
  const audit = (outcome: "allow" | "deny", claims: AccessTokenClaims | undefined, detail: AuditDetail) =>
    deps.waitUntil(
      recordAuditInBackground(deps.audit, {
        id: decisionId,
        kind: "gateway.decision",
        outcome,
        orgId: claims?.org_id ?? null,
        subject: claims?.sub ?? null,
        actor: claims?.act?.sub ?? null,
        clientId: claims?.client_id ?? null,
        // A token a caller put in the path (loggablePath) is not kept, as the admin API's audit does not keep it.
        detail: { method, path: loggablePath(path), resource: route.resource, ...mcpTrail, ...detail },
      }),
    );
  // RFC 9728 §5.1 and the MCP authorization spec: an MCP route's challenges
  // name its metadata and the scopes it needs.
  const challenge = (
    params: Omit<BearerChallenge, "realm">,
    scopes: readonly string[] = route.scopes,
  ): BearerChallenge => ({
    realm: REALM,
    ...params,
    ...(route.mcp
      ? { resourceMetadata: route.resourceMetadataUrl, scope: params.scope ?? (scopes.join(" ") || undefined) }
      : {}),
  });

  const action = route.methods[method];
  if (action === undefined) {
    audit("deny", undefined, { error: "method_not_allowed" });
    const allowed = Object.keys(route.methods).join(", ");
    return httpErrorResponse("method_not_allowed", `use ${allowed}`, { Allow: allowed });
  }
  // RFC 9110 §7.6.2: a route that serves OPTIONS forwards it, so its `Max-Forwards: 0` is the gateway's
  // to answer, about itself and before any token (forward/method-gate.ts). No route of the table does today.
  if (method === "OPTIONS") {
    const answered = optionsAsFinalRecipient(request.headers, Object.keys(route.methods).join(", "));
    if (answered) return answered;
  }

  const auth = await authenticate(request, url, route.audienceUri, deps, {
    whenRevocationUnavailable: route.whenRevocationUnavailable,
  });
  if (!auth.ok) {
    if ("unavailable" in auth) {
      audit("deny", auth.claims, { error: "revocation_state_unavailable" });
      return httpErrorResponse("temporarily_unavailable", "revocation state unavailable, retry");
    }
    audit("deny", auth.claims, { error: auth.code, ...(auth.claims ? { jti: auth.claims.jti } : {}) });
    // Not the route's scopes: they are those of the org the unverified token names (a registered MCP server).
    return bearerErrorResponse(challenge(auth.challenge, deps.unverifiedScopes ?? route.scopes));
  }
  const { claims } = auth;
  // Every later audit record of this request says revocation was decided on an old view.
  if (auth.revocationLastKnown) mcpTrail.revocation = "last_known";
  if (deps.onlyOrgId !== undefined && claims.org_id !== deps.onlyOrgId) {
    audit("deny", claims, { error: "ERR_MCP_SERVER_UNKNOWN", jti: claims.jti });
    return httpErrorResponse("not_found", "ERR_MCP_SERVER_UNKNOWN: the token's org has no such MCP server");
  }
  // Only now, with the token verified as the org's: the refusal was chosen on the token's unverified
  // org_id, and answered to anyone it would say that another org's server is misconfigured.
  if (deps.upstreamRefusal) {
    console.error("mcp upstream refused", deps.upstreamRefusal.code, claims.org_id, path);
    audit("deny", claims, { error: deps.upstreamRefusal.code, jti: claims.jti });
    return upstreamRefusedResponse(deps.upstreamRefusal);
  }

  // RFC 6750 §3.1: a token without the route's scopes is refused naming all of
  // them, so a client steps up once (MCP authorization, "Scope Challenge Handling").
  const granted = claims.scope ? claims.scope.split(" ") : [];
  if (route.scopes.some((scope) => !granted.includes(scope))) {
    audit("deny", claims, { error: "insufficient_scope", jti: claims.jti });
    return bearerErrorResponse(
      challenge({
        scheme: auth.scheme,
        error: "insufficient_scope",
        description: `this resource needs the scope ${route.scopes.join(" ")}`,
        scope: route.scopes.join(" "),
      }),
    );
  }

  // Read only now: an unauthenticated caller never makes the gateway buffer a body.
  let mcp: McpRequest | undefined;
  if (route.mcp) {
    try {
      mcp = await readMcpRequest(request);
    } catch (error) {
      if (!(error instanceof McpRequestError)) throw error;
      audit("deny", claims, { error: error.code, jti: claims.jti });
      if (error.code === "ERR_MCP_BODY_TOO_LARGE")
        return httpErrorResponse("payload_too_large", error.publicDescription);
      return httpErrorResponse("invalid_mcp_request", error.publicDescription);
    }
    mcpTrail.mcp_method = mcp.method;
    if (mcp.tool !== undefined) mcpTrail.mcp_tool = mcp.tool;
  }
  const gate = mcp && deps.mcpToolGate ? await deps.mcpToolGate(claims, mcp) : undefined;
  if (gate?.kind === "unavailable") {
    audit("deny", claims, { error: "grants_unavailable" });
    return httpErrorResponse("temporarily_unavailable", "access grants unavailable, retry");
  }
  if (gate?.kind === "refused") {
    audit("deny", claims, { error: gate.code, jti: claims.jti });
    return bearerErrorResponse(
      challenge({ scheme: auth.scheme, error: "insufficient_scope", description: `${gate.code}: ${gate.description}` }),
    );
  }
  if (gate?.grantId) mcpTrail.mcp_grant = gate.grantId;

  let policy: CompiledPolicy;
  try {
    policy = await deps.policyFor(claims.org_id);
  } catch (error) {
    // Fail closed, like revocation: no policy the org published can be loaded, so nothing is decided.
    console.error("policy unavailable", error);
    audit("deny", claims, { error: "policy_unavailable" });
    return httpErrorResponse("temporarily_unavailable", "policy unavailable, retry");
  }
  const ip = request.headers.get(FORWARDING_HEADER.connectingIp) ?? undefined;
  const decision = decide(
    policy,
    decisionInput(claims, route.resource, action, { method, path, ip, mcp }, gate?.attributes),
    decisionId,
  );
  if (decision.effect === "deny") {
    // A decision stopped by its cost budget names the rule it stopped in, so the org's admin can find what to rewrite.
    const stoppedIn: AuditDetail = decision.reason === "cost_limit_exceeded" ? { errored: decision.errored } : {};
    audit("deny", claims, { reason: decision.reason, matched: decision.matched, ...stoppedIn, jti: claims.jti });
    return policyDeniedResponse(decision.id, decision.reason);
  }

  const headers = stripUntrustedHeaders(request.headers, { keepCredentials: false });
  setForwardingHeaders(headers, request, url);
  if (deps.requestId !== undefined) setRequestId(headers, deps.requestId);
  headers.set(TRUSTED_HEADER.userId, claims.sub);
  headers.set(TRUSTED_HEADER.orgId, claims.org_id);
  if (claims.act) headers.set(TRUSTED_HEADER.actorId, claims.act.sub);
  // Always sent on an allow (`{}` = everything the route exposes): a
  // downstream refuses a request without it (fails closed).
  const abacFilter = JSON.stringify(decision.filter);
  headers.set(TRUSTED_HEADER.abacFilter, abacFilter);
  // The path and query the upstream receives, which its verifier compares with its own request's:
  // an https upstream (a registered MCP server's URL, a route's base path) is not sent `path`.
  const sent = new URL(deps.target);
  headers.set(
    TRUSTED_HEADER.gatewayAssertion,
    await (await deps.signer).sign({
      audience: route.audienceUri,
      sub: claims.sub,
      orgId: claims.org_id,
      act: claims.act,
      clientId: claims.client_id,
      decisionId,
      abacFilter,
      method,
      path: sent.pathname,
      search: sent.search,
    }),
  );
  // A route served with a saved connection (route-table.ts): the upstream gets the saved token, never the caller's.
  const vaultResource = route.savedConnection?.resource;
  const saved =
    vaultResource !== undefined ? await savedTokenFor(deps.vault, vaultResource, claims, decisionId) : undefined;
  if (saved && !saved.ok) {
    audit("deny", claims, { reason: saved.refusal, jti: claims.jti });
    return savedTokenRefusedResponse(decisionId, saved.refusal);
  }
  if (saved) headers.set("Authorization", saved.authorization);
  audit("allow", claims, {
    matched: decision.matched,
    jti: claims.jti,
    ...(saved ? { connection_id: saved.connectionId } : {}),
  });
  const send = () => proxy(deps.upstream, deps.target, request, headers, mcp?.body, method);
  let response = await send();
  if (vaultResource !== undefined && saved)
    response = await retryOnUpstream401(response, {
      replayable: request.body === null || mcp !== undefined,
      refresh: () => savedTokenFor(deps.vault, vaultResource, claims, decisionId, true),
      send: (authorization) => (headers.set("Authorization", authorization), send()),
    });
  if (response.status === 401 || response.status === 407) {
    // The caller's token was accepted here: an upstream's 401 is about what
    // the gateway sent it (the assertion, a saved token still refused after
    // a refresh), which the caller can neither see nor fix. Passed on, and
    // without its challenge (which names the upstream's own authorization
    // server, not ours: filterDownstreamResponse drops it), it broke RFC 9110
    // §15.5.2's MUST and told an RFC 6750 or MCP client its token was bad,
    // so it re-authorised and retried in a loop.
    console.warn("upstream refused the gateway's request", { path: loggablePath(path), status: response.status });
    await response.body?.cancel();
    return httpErrorResponse(
      "upstream_response_refused",
      "the service refused the credentials the gateway sent it; this is not about your token",
    );
  }
  return filterDownstreamResponse(response, url, { allowActiveContent: route.allowActiveContent });
}
