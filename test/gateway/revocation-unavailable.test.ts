import { env } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import type { OrgStateNamespace } from "../../shared/contracts/org-state.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { compilePolicy } from "../../shared/policy/compile-policy.ts";
import { DEFAULT_POLICY } from "../../shared/policy/default-policy.ts";
import { AssertionSigner } from "../../workers/gateway/src/assertion/assertion-signer.ts";
import { parseGatewayConfig, tokenService } from "../../workers/gateway/src/config.ts";
import { protect } from "../../workers/gateway/src/protect.ts";
import { type ProtectedRoute, RouteTable } from "../../workers/gateway/src/routing/match-route.ts";
import { ROUTES, type RouteConfig } from "../../workers/gateway/src/routing/route-table.ts";
import { DpopReplayCache } from "../../workers/gateway/src/trust/dpop-replay-cache.ts";
import { JwksCache } from "../../workers/gateway/src/trust/jwks-cache.ts";
import { RevocationView } from "../../workers/gateway/src/trust/revocation-view.ts";
import { VerifiedTokenCache } from "../../workers/gateway/src/trust/verified-token-cache.ts";
import { memberClaims, type TestSigner, testSigner } from "./signed-token.ts";

let signer: TestSigner;
beforeAll(async () => {
  signer = await testSigner();
});
beforeEach(() => signer.publish());

/** The real org-state namespace, with an outage we switch on (every read rejected, as an unreachable object's). */
function withOutage() {
  let down = false;
  const namespace = {
    getByName(name: string) {
      if (!down) return env.ORG_STATE.getByName(name);
      const refuse = () => Promise.reject(new Error("Durable Object unreachable"));
      return { sync: refuse, fetch: refuse };
    },
  } as unknown as OrgStateNamespace;
  return { source: { ORG_STATE: namespace, KV: env.KV }, down: (on: boolean) => (down = on) };
}

/** The demo echo route as the table has it, or with `whenRevocationUnavailable` set. */
function echoRoute(when?: "fail-closed" | "last-known"): ProtectedRoute {
  const table: RouteConfig[] = ROUTES.map((route) =>
    route.kind === "protected" && route.path === ENDPOINT.demoEcho && when
      ? { ...route, whenRevocationUnavailable: when }
      : route,
  );
  return new RouteTable(table, { issuer: env.ISSUER, apiAudience: env.API_AUDIENCE }).match(
    ENDPOINT.demoEcho,
  ) as ProtectedRoute;
}

async function call(route: ProtectedRoute, revocations: RevocationView, claims: Record<string, unknown>) {
  const config = parseGatewayConfig(env);
  const url = new URL(`${env.ISSUER}${ENDPOINT.demoEcho}`);
  const pending: Promise<unknown>[] = [];
  const response = await protect(
    new Request(url, { headers: { Authorization: `Bearer ${await signer.sign(claims)}` } }),
    url,
    url.pathname,
    route,
    {
      issuer: config.issuer,
      origin: url.origin,
      jwks: new JwksCache({ KV: env.KV, tokenService: tokenService(env) }, config.jwksRefetchCooldownMs),
      revocations,
      dpopReplays: new DpopReplayCache(10),
      verifiedTokens: new VerifiedTokenCache(10),
      policyFor: () => compilePolicy(DEFAULT_POLICY),
      signer: AssertionSigner.create(config.assertionSecret, config.issuer),
      upstream: env.DEMO,
      target: url.href,
      audit: env,
      waitUntil: (promise: Promise<unknown>) => pending.push(promise),
    },
  );
  await Promise.all(pending);
  const body = response.status === 200 ? undefined : ((await response.json()) as Record<string, string>);
  if (response.status === 200) await response.body?.cancel();
  // A bearer refusal names its stable code in the description; any other error by its `error`.
  const code = response.status === 401 ? body?.error_description?.split(":")[0] : body?.error;
  return { status: response.status, error: code };
}

describe("revocation state unavailable: per route (route-table.ts whenRevocationUnavailable)", () => {
  it("the route table's protected routes all fail closed by default", () => {
    for (const route of ROUTES) {
      if (route.kind === "protected") expect(route.whenRevocationUnavailable ?? "fail-closed").toBe("fail-closed");
    }
  });

  it("fail-closed (the default): 503 temporarily_unavailable once no view within the hard limit can be had", async () => {
    const orgId = `org-${crypto.randomUUID()}`;
    const outage = withOutage();
    const view = new RevocationView(outage.source, { maxStalenessMs: 0, maxOrgs: 10 });
    expect(await call(echoRoute(), view, memberClaims({ org_id: orgId }))).toEqual({ status: 200 });
    outage.down(true);
    expect(await call(echoRoute(), view, memberClaims({ org_id: orgId }))).toEqual({
      status: 503,
      error: "temporarily_unavailable",
    });
    expect(await call(echoRoute("fail-closed"), view, memberClaims({ org_id: orgId }))).toMatchObject({
      status: 503,
    });
  });

  it("last-known: serves on the last view held, which still refuses what it knew was revoked", async () => {
    const orgId = `org-${crypto.randomUUID()}`;
    const revoked = memberClaims({ org_id: orgId, jti: crypto.randomUUID() });
    await env.ORG_STATE.getByName(orgStateName(orgId)).revoke(
      { orgId, kind: "jti", value: revoked.jti as string, reason: "test" },
      revoked.exp as number,
    );
    const outage = withOutage();
    const view = new RevocationView(outage.source, { maxStalenessMs: 0, maxOrgs: 10 });
    expect(await call(echoRoute("last-known"), view, memberClaims({ org_id: orgId }))).toEqual({ status: 200 });
    outage.down(true);
    expect(await call(echoRoute("last-known"), view, memberClaims({ org_id: orgId }))).toEqual({ status: 200 });
    expect(await call(echoRoute("last-known"), view, revoked)).toEqual({ status: 401, error: "ERR_TOKEN_REVOKED" });
    // The same moment on a fail-closed route: 503.
    expect(await call(echoRoute(), view, memberClaims({ org_id: orgId }))).toMatchObject({ status: 503 });
  });
});
