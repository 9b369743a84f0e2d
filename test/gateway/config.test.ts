import { env } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { compilePolicy } from "../../shared/policy/compile-policy.ts";
import { parseGatewayConfig, tokenService } from "../../workers/gateway/src/config.ts";
import { DEFAULT_POLICY } from "../../shared/policy/default-policy.ts";
import { protect } from "../../workers/gateway/src/protect.ts";
import { AssertionSigner } from "../../workers/gateway/src/assertion/assertion-signer.ts";
import { type ProtectedRoute, RouteTable } from "../../workers/gateway/src/routing/match-route.ts";
import { ROUTES } from "../../workers/gateway/src/routing/route-table.ts";
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

describe("gateway config", () => {
  it("normalises ISSUER: a trailing slash is the same issuer", () => {
    expect(parseGatewayConfig({ ...env, ISSUER: "https://id.example.com/" }).issuer).toBe("https://id.example.com");
    expect(parseGatewayConfig({ ...env, ISSUER: "https://id.example.com" }).issuer).toBe("https://id.example.com");
  });

  it("refuses values that cannot be right, naming the var", () => {
    const bad: [string, string][] = [
      ["ISSUER", "id.example.com"],
      ["ISSUER", "https://id.example.com/?x=1"],
      ["API_AUDIENCE", "not a url"],
      ["REVOCATION_MAX_STALENESS_MS", "-1"],
      ["REVOCATION_MAX_STALENESS_MS", "1e3"],
      ["REVOCATION_VIEW_MAX_ORGS", "0"],
      ["REVOCATION_VIEW_MAX_ORGS", "many"],
      ["REVOCATION_PUSH", "yes"],
      ["JWKS_REFETCH_COOLDOWN_MS", ""],
      ["GATEWAY_ASSERTION_KEY", "too-short"],
    ];
    for (const [name, value] of bad) {
      expect(() => parseGatewayConfig({ ...env, [name]: value }), `${name}=${value}`).toThrow(name);
    }
  });

  it("verifies tokens of the issuer when ISSUER is configured with a trailing slash", async () => {
    const config = parseGatewayConfig({ ...env, ISSUER: `${env.ISSUER}/` });
    const routes = new RouteTable(ROUTES, { issuer: config.issuer, apiAudience: config.audience });
    const route = routes.match(ENDPOINT.demoEcho) as ProtectedRoute;
    const pending: Promise<unknown>[] = [];
    const url = new URL(`${env.ISSUER}${ENDPOINT.demoEcho}`);
    const response = await protect(
      new Request(url, {
        headers: { Authorization: `Bearer ${await signer.sign(memberClaims({ iss: env.ISSUER }))}` },
      }),
      url,
      url.pathname,
      route,
      {
        issuer: config.issuer,
        origin: url.origin,
        jwks: new JwksCache({ KV: env.KV, tokenService: tokenService(env) }, config.jwksRefetchCooldownMs),
        revocations: new RevocationView(env, { maxStalenessMs: 0, maxOrgs: 10 }),
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
    expect(response.status).toBe(200);
    await Promise.all(pending);
  });
});
