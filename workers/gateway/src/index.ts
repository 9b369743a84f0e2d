import { httpErrorResponse } from "../../../shared/errors/http.ts";
import { type CompiledPolicy, compilePolicy } from "../../../shared/policy/compile-policy.ts";
import { type GatewayConfig, parseGatewayConfig, tokenService } from "./config.ts";
import { setForwardingHeaders } from "./forward/forwarding-headers.ts";
import { proxy } from "./forward/proxy.ts";
import { stripUntrustedHeaders } from "./forward/strip-untrusted-headers.ts";
import { DEFAULT_POLICY } from "./policy/default-policy.ts";
import { POLICY_STORE_DEFAULTS, PolicyStore } from "./policy/policy-store.ts";
import { protect } from "./protect.ts";
import { matchRoute } from "./routes.ts";
import { DEFAULT_DPOP_REPLAY_ENTRIES, DpopReplayCache } from "./trust/dpop-replay-cache.ts";
import { JwksCache } from "./trust/jwks-cache.ts";
import { RevocationView } from "./trust/revocation-view.ts";

/** Compiled once per isolate: the hot path only looks it up. */
const defaultPolicy: CompiledPolicy = compilePolicy(DEFAULT_POLICY);

interface IsolateState {
  config: GatewayConfig;
  jwks: JwksCache;
  revocations: RevocationView;
  policies: PolicyStore;
  dpopReplays: DpopReplayCache;
}

let isolate: IsolateState | undefined;

function isolateState(env: GatewayEnv): IsolateState {
  if (!isolate) {
    const config = parseGatewayConfig(env);
    const revocations = new RevocationView(env, {
      maxStalenessMs: config.revocationMaxStalenessMs,
      maxOrgs: config.revocationViewMaxOrgs,
    });
    isolate = {
      config,
      jwks: new JwksCache({ KV: env.KV, tokenService: tokenService(env) }, config.jwksRefetchCooldownMs),
      revocations,
      // The policy version arrives with the revocations, in the same refresh.
      policies: new PolicyStore(env.KV, revocations, { defaultPolicy, ...POLICY_STORE_DEFAULTS }),
      dpopReplays: new DpopReplayCache(DEFAULT_DPOP_REPLAY_ENTRIES),
    };
  }
  return isolate;
}

export default {
  async fetch(request, env, ctx) {
    const route = matchRoute(new URL(request.url).pathname);
    if (!route) return httpErrorResponse("not_found", "no such route");
    if (route.kind === "public") {
      // Login and token endpoints are where credentials are presented, and
      // their Workers set the session cookie: both pass unchanged.
      const headers = stripUntrustedHeaders(request.headers, { keepCredentials: true });
      setForwardingHeaders(headers, request);
      return proxy(env[route.upstream], request, headers);
    }
    const state = isolateState(env);
    return protect(request, route, {
      ...state,
      policyFor: (orgId) => state.policies.policyFor(orgId),
      upstream: env[route.upstream],
      audit: env,
      waitUntil: (promise) => ctx.waitUntil(promise),
    });
  },
} satisfies ExportedHandler<GatewayEnv>;
