import { httpErrorResponse } from "../../../shared/errors/http.ts";
import { loggablePath, logJson, worthLogging } from "../../../shared/observability/log.ts";
import { type CompiledPolicy, compilePolicy } from "../../../shared/policy/compile-policy.ts";
import { AssertionSigner } from "./assertion/assertion-signer.ts";
import { type GatewayConfig, parseGatewayConfig, tokenService } from "./config.ts";
import { setForwardingHeaders } from "./forward/forwarding-headers.ts";
import { publicRouteMethodAnswer } from "./forward/method-gate.ts";
import { proxy } from "./forward/proxy.ts";
import { stripUntrustedHeaders } from "./forward/strip-untrusted-headers.ts";
import { forwardUrl, upstreamFetcher } from "./forward/upstream.ts";
import { DEFAULT_POLICY } from "../../../shared/policy/default-policy.ts";
import { POLICY_STORE_DEFAULTS, PolicyStore } from "./policy/policy-store.ts";
import { protect } from "./protect.ts";
import { vaultService } from "./vault/saved-token.ts";
import { RouteTable } from "./routing/match-route.ts";
import { normalisePath, PathError } from "./routing/normalise-path.ts";
import { ROUTES } from "./routing/route-table.ts";
import { DEFAULT_DPOP_REPLAY_ENTRIES, DpopReplayCache } from "./trust/dpop-replay-cache.ts";
import { JwksCache } from "./trust/jwks-cache.ts";
import { CHANNEL_MAX_AGE_MS } from "./trust/revocation-channel.ts";
import { RevocationView } from "./trust/revocation-view.ts";
import { DEFAULT_VERIFIED_TOKEN_ENTRIES, VerifiedTokenCache } from "./trust/verified-token-cache.ts";
import { mcpToolGate, type RegisteredMcpRoute, registeredMcpRoute } from "./mcp/registered-route.ts";
import { McpRegistryCache, mcpRegistryBinding, REGISTRY_CACHE_MAX_ENTRIES } from "./mcp/registry-cache.ts";
import { serveLocal } from "./well-known/serve-local.ts";
import { gatewayHealth } from "./observability/health.ts";
import { newRequestId, setRequestId, tagFetched, tagResponse } from "./observability/request-id.ts";

/** Compiled once per isolate: the hot path only looks it up. */
const defaultPolicy: CompiledPolicy = compilePolicy(DEFAULT_POLICY);

interface IsolateState {
  config: GatewayConfig;
  origin: string;
  routes: RouteTable;
  jwks: JwksCache;
  revocations: RevocationView;
  policies: PolicyStore;
  dpopReplays: DpopReplayCache;
  verifiedTokens: VerifiedTokenCache;
  signer: Promise<AssertionSigner>;
  /** Registered MCP servers and agents' grants, kept within the revocation bound (mcp/registry-cache.ts). */
  mcpRegistry: McpRegistryCache;
}

let isolate: IsolateState | undefined;

function isolateState(env: GatewayEnv): IsolateState {
  if (!isolate) {
    const config = parseGatewayConfig(env);
    const revocations = new RevocationView(env, {
      maxStalenessMs: config.revocationMaxStalenessMs,
      maxOrgs: config.revocationViewMaxOrgs,
      hardLimitMs: config.revocationHardLimitMs,
      ...(config.revocationPush ? { push: { maxAgeMs: CHANNEL_MAX_AGE_MS } } : {}),
    });
    const signer = AssertionSigner.create(config.assertionSecret, config.issuer);
    // Handled where it is awaited; this keeps an early failure from being reported as unhandled.
    signer.catch(() => undefined);
    isolate = {
      config,
      origin: new URL(config.issuer).origin,
      routes: new RouteTable(ROUTES, { issuer: config.issuer, apiAudience: config.audience }),
      jwks: new JwksCache({ KV: env.KV, tokenService: tokenService(env) }, config.jwksRefetchCooldownMs),
      revocations,
      // The policy version arrives with the revocations, in the same refresh.
      policies: new PolicyStore(env.KV, revocations, {
        defaultPolicy,
        ...POLICY_STORE_DEFAULTS,
        origin: tokenService(env),
      }),
      dpopReplays: new DpopReplayCache(DEFAULT_DPOP_REPLAY_ENTRIES),
      verifiedTokens: new VerifiedTokenCache(DEFAULT_VERIFIED_TOKEN_ENTRIES),
      signer,
      mcpRegistry: new McpRegistryCache(mcpRegistryBinding(env), {
        maxAgeMs: config.revocationMaxStalenessMs,
        maxEntries: REGISTRY_CACHE_MAX_ENTRIES,
      }),
    };
  }
  return isolate;
}

/** Routes one request; `requestId` goes on whatever is forwarded (observability/request-id.ts). */
async function handle(request: Request, env: GatewayEnv, ctx: ExecutionContext, requestId: string): Promise<Response> {
  const url = new URL(request.url);
  let path: string;
  try {
    path = normalisePath(url.pathname);
  } catch (error) {
    if (error instanceof PathError) return httpErrorResponse("invalid_path", error.publicDescription);
    throw error;
  }
  const state = isolateState(env);
  let route = state.routes.match(path);
  // Not in the table: an MCP server an org registered (mcp/registered-route.ts), if any.
  let registered: RegisteredMcpRoute | undefined;
  if (!route) {
    const found = await registeredMcpRoute(path, request, url, state.mcpRegistry, state.config.issuer);
    if (found instanceof Response) return found;
    registered = found;
    route = found?.route;
  }
  if (!route) return httpErrorResponse("not_found", "no such route");
  switch (route.kind) {
    case "local":
      return serveLocal(route, path, request, {
        issuer: state.config.issuer,
        ...state,
        health: () => gatewayHealth(env, requestId),
      });
    case "public": {
      // TRACE, CONNECT, methods no Worker serves and an OPTIONS meant for the gateway itself are
      // answered here, never forwarded (forward/method-gate.ts); GET and POST, nearly every request, skip it.
      const method = request.method;
      if (method !== "GET" && method !== "POST") {
        const answered = publicRouteMethodAnswer(method, request.headers);
        if (answered) return answered;
      }
      // Login and token endpoints are where credentials are presented, and
      // their Workers set the session cookie: both pass unchanged.
      const headers = stripUntrustedHeaders(request.headers, { keepCredentials: true });
      setForwardingHeaders(headers, request, url);
      setRequestId(headers, requestId);
      // Upgrade is hop-by-hop and stripped above; a WebSocket upgrade (the admin API's
      // revocation stream) is asked for again, so the runtime hands the socket through.
      if (request.headers.get("Upgrade")?.toLowerCase() === "websocket") headers.set("Upgrade", "websocket");
      const fetched = await proxy(
        upstreamFetcher(route.upstream, env),
        forwardUrl(route.upstream, url, path),
        request,
        headers,
        undefined,
        method,
      );
      return tagFetched(fetched, requestId);
    }
    case "protected":
      return protect(request, url, path, route, {
        ...state,
        requestId,
        issuer: state.config.issuer,
        policyFor: (orgId) => state.policies.policyFor(orgId),
        upstream: upstreamFetcher(route.upstream, env),
        target: registered?.target ?? forwardUrl(route.upstream, url, path),
        ...(registered ? { onlyOrgId: registered.onlyOrgId } : {}),
        ...(registered?.upstreamRefusal ? { upstreamRefusal: registered.upstreamRefusal } : {}),
        ...(registered ? { unverifiedScopes: registered.unverifiedScopes } : {}),
        ...(route.mcp ? { mcpToolGate: mcpToolGate(route, registered, state.mcpRegistry) } : {}),
        audit: env,
        vault: vaultService(env),
        waitUntil: (promise) => ctx.waitUntil(promise),
      });
  }
}

export default {
  /**
   * Every request gets the gateway's request id (observability/request-id.ts):
   * forwarded to whichever Worker or downstream serves it, returned on the
   * answer, and logged as one JSON line when the request is refused, fails
   * or is slow (shared/observability/log.ts).
   */
  async fetch(request, env, ctx) {
    const started = Date.now();
    const id = newRequestId();
    let response: Response;
    try {
      response = await handle(request, env, ctx, id);
    } catch (error) {
      logJson("error", { event: "http.failed", worker: "gateway", request_id: id, error: String(error) });
      response = httpErrorResponse("server_error", "internal error");
    }
    const durationMs = Date.now() - started;
    if (worthLogging(response.status, durationMs)) {
      logJson(response.status >= 500 ? "error" : "info", {
        event: "http.request",
        worker: "gateway",
        request_id: id,
        method: request.method,
        path: loggablePath(new URL(request.url).pathname),
        status: response.status,
        duration_ms: durationMs,
      });
    }
    return tagResponse(response, id);
  },
} satisfies ExportedHandler<GatewayEnv>;
