import { env, exports } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { adminAudience, ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { SCOPE } from "../../shared/contracts/scopes.ts";
import { mintLimiterName } from "../../shared/contracts/mint-limit.ts";
import { GRANT_TYPE, PLATFORM_ORG_ID } from "../../shared/contracts/tokens.ts";
import { inOneWindow } from "../support/credential-limits.ts";
import { basicAuthorization, registerTestClient, setOrgPolicy, type TestClient } from "./clients-fixtures.ts";
import { AUDIENCE, expectOAuthError, tokenRequest } from "./fixtures.ts";

function clientCredentials(client: TestClient, params: Record<string, string> = {}) {
  return tokenRequest(
    { grant_type: GRANT_TYPE.clientCredentials, ...params },
    { headers: { Authorization: basicAuthorization(client.clientId, client.secret) } },
  );
}

interface TokenBody {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
  refresh_token?: string;
}

async function issued(response: Response) {
  expect(response.status).toBe(200);
  const body = (await response.json()) as TokenBody;
  return { body, claims: decodeJwt(body.access_token) };
}

describe("client_credentials (RFC 6749 §4.4)", () => {
  it("issues an RFC 9068 token whose subject is the client, in the client's org, without a refresh token", async () => {
    const client = await registerTestClient();
    const response = await clientCredentials(client);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const { body, claims } = await issued(response);
    expect(body).toMatchObject({ token_type: "Bearer", expires_in: 600, scope: "documents:read" });
    expect(body.refresh_token).toBeUndefined();
    expect(claims).toMatchObject({
      iss: env.ISSUER,
      sub: client.clientId,
      client_id: client.clientId,
      org_id: client.orgId,
      aud: AUDIENCE,
      scope: "documents:read",
    });
    expect((claims.exp as number) - (claims.iat as number)).toBe(600);
  });

  it("advertises client_credentials in the metadata", async () => {
    const response = await exports.default.fetch(`http://localhost${ENDPOINT.authorizationServerMetadata}`);
    const metadata = (await response.json()) as { grant_types_supported: string[] };
    expect(metadata.grant_types_supported).toContain(GRANT_TYPE.clientCredentials);
  });

  it("a platform operator client gets the admin scope for the admin audience, in the platform org", async () => {
    const operator = await registerTestClient({
      orgId: null,
      scopes: [SCOPE.admin],
      audiences: [adminAudience(env.ISSUER)],
    });
    const { claims } = await issued(await clientCredentials(operator));
    expect(claims).toMatchObject({
      sub: operator.clientId,
      org_id: PLATFORM_ORG_ID,
      aud: adminAudience(env.ISSUER),
      scope: SCOPE.admin,
    });
  });

  it("unauthorized_client for a client not registered for the grant, and for the public first-party client", async () => {
    const exchangeOnly = await registerTestClient({ grantTypes: [GRANT_TYPE.tokenExchange] });
    await expectOAuthError(await clientCredentials(exchangeOnly), 400, "unauthorized_client");
    await expectOAuthError(
      await tokenRequest({ grant_type: GRANT_TYPE.clientCredentials }),
      400,
      "unauthorized_client",
    );
  });
});

describe("client_credentials: scope (RFC 6749 §3.3)", () => {
  it("defaults to every scope the client may have; a narrower request is honoured", async () => {
    const client = await registerTestClient();
    expect((await issued(await clientCredentials(client, { scope: "documents:read" }))).body.scope).toBe(
      "documents:read",
    );
    expect((await issued(await clientCredentials(client))).body.scope).toBe("documents:read");
  });

  it("invalid_scope for a scope the client was not registered for, an unknown one, and admin", async () => {
    const client = await registerTestClient();
    for (const scope of ["documents:write", "documents:read nope", SCOPE.admin]) {
      await expectOAuthError(await clientCredentials(client, { scope }), 400, "invalid_scope");
    }
  });

  it("invalid_scope for a scope outside the org's ceiling, even one the client was registered for", async () => {
    const client = await registerTestClient();
    await setOrgPolicy(client.orgId as string, { scopeCeiling: "" });
    await expectOAuthError(await clientCredentials(client, { scope: "documents:read" }), 400, "invalid_scope");
    await expectOAuthError(await clientCredentials(client), 400, "invalid_scope");
  });
});

describe("client_credentials: target (RFC 8707 resource, or audience)", () => {
  it("defaults to the client's one audience; resource and audience name it", async () => {
    const client = await registerTestClient();
    for (const params of [
      {},
      { resource: AUDIENCE },
      { audience: AUDIENCE },
      { resource: AUDIENCE, audience: AUDIENCE },
    ] as Record<string, string>[]) {
      expect((await issued(await clientCredentials(client, params))).claims.aud).toBe(AUDIENCE);
    }
  });

  it("invalid_target: a resource the client may not have, resource ≠ audience, none named with several audiences", async () => {
    const client = await registerTestClient();
    await expectOAuthError(
      await clientCredentials(client, { resource: "https://elsewhere.example/api" }),
      400,
      "invalid_target",
    );
    await expectOAuthError(
      await clientCredentials(client, { resource: AUDIENCE, audience: "https://elsewhere.example/api" }),
      400,
      "invalid_target",
    );
    const several = await registerTestClient({ audiences: [AUDIENCE, "https://second.example/api"] });
    await expectOAuthError(await clientCredentials(several), 400, "invalid_target");
  });

  it("invalid_target for an audience the issuer no longer serves or the org does not allow", async () => {
    const unserved = await registerTestClient({ audiences: ["https://retired.example/api"] });
    await expectOAuthError(await clientCredentials(unserved), 400, "invalid_target");
    const client = await registerTestClient();
    await setOrgPolicy(client.orgId as string, { allowedAudiences: "https://only-this.example/api" });
    await expectOAuthError(await clientCredentials(client, { resource: AUDIENCE }), 400, "invalid_target");
  });
});

describe("client_credentials: lifetime", () => {
  it("is the shortest of the issuer's TTL, the org's TTL for the client's kind, and the client's own", async () => {
    const machine = await registerTestClient({ kind: "machine" });
    await setOrgPolicy(machine.orgId as string, { maxTtlMachineSeconds: 300, maxTtlAgentSeconds: 120 });
    expect((await issued(await clientCredentials(machine))).body.expires_in).toBe(300);

    const agent = await registerTestClient({ kind: "agent" });
    await setOrgPolicy(agent.orgId as string, { maxTtlMachineSeconds: 300, maxTtlAgentSeconds: 120 });
    expect((await issued(await clientCredentials(agent))).body.expires_in).toBe(120);

    const capped = await registerTestClient({ maxTtlSeconds: 60 });
    await setOrgPolicy(capped.orgId as string, { maxTtlMachineSeconds: 300 });
    const { body, claims } = await issued(await clientCredentials(capped));
    expect(body.expires_in).toBe(60);
    expect((claims.exp as number) - (claims.iat as number)).toBe(60);
  });
});

describe("client_credentials: mint rate limit", () => {
  it("refuses past the org's mints per minute with 429 rate_limited and Retry-After, and audits it", async () => {
    const client = await registerTestClient();
    await setOrgPolicy(client.orgId as string, { mintsPerMinutePerClient: 2 });
    expect((await clientCredentials(client)).status).toBe(200);
    expect((await clientCredentials(client)).status).toBe(200);
    const refused = await clientCredentials(client);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    expect(((await refused.json()) as { error: string }).error).toBe("rate_limited");
    await expect
      .poll(
        async () =>
          (
            await env.AUDIT_DB.prepare(
              "SELECT count(*) AS n FROM audit_event WHERE kind = 'token.refused' AND client_id = ? AND detail LIKE '%rate_limited%'",
            )
              .bind(client.clientId)
              .first<{ n: number }>()
          )?.n,
      )
      .toBe(1);
  });

  it("counts per client: another client of the same org is not limited by it", async () => {
    const first = await registerTestClient();
    await setOrgPolicy(first.orgId as string, { mintsPerMinutePerClient: 1 });
    const second = await registerTestClient({ orgId: first.orgId });
    expect((await clientCredentials(first)).status).toBe(200);
    expect((await clientCredentials(first)).status).toBe(429);
    expect((await clientCredentials(second)).status).toBe(200);
  });

  it("takes mints from the client's MintLimiter ten at a time: 25 mints make 3 calls, each counted when handed out", async () => {
    await inOneWindow(async () => {
      const client = await registerTestClient();
      await setOrgPolicy(client.orgId as string, { mintsPerMinutePerClient: 100 });
      for (let i = 0; i < 25; i++) expect((await clientCredentials(client)).status).toBe(200);
      // What is left for every other isolate: 100 less three takes of ten, not less the 25 made.
      const rest = await env.MINT_LIMITER.getByName(mintLimiterName(client.clientId)).take(100, 60, 100);
      expect(rest).toMatchObject({ allowed: true, granted: 70 });
    });
  });

  it("takes a hundredth of a limit above 1000 a minute at a time: 30 mints under 2000 make 2 calls of 20", async () => {
    await inOneWindow(async () => {
      const client = await registerTestClient();
      await setOrgPolicy(client.orgId as string, { mintsPerMinutePerClient: 2_000 });
      for (let i = 0; i < 30; i++) expect((await clientCredentials(client)).status).toBe(200);
      // Ten at a time would have made three calls and left 1970.
      const rest = await env.MINT_LIMITER.getByName(mintLimiterName(client.clientId)).take(2_000, 60, 2_000);
      expect(rest).toMatchObject({ allowed: true, granted: 1_960 });
    });
  });

  it("never mints past the limit when mints are taken in batches: 30 at once under a limit of 20", async () => {
    await inOneWindow(async () => {
      const client = await registerTestClient();
      await setOrgPolicy(client.orgId as string, { mintsPerMinutePerClient: 20 });
      const responses = await Promise.all(Array.from({ length: 30 }, () => clientCredentials(client)));
      const statuses = responses.map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(20);
      const refused = responses.filter((r) => r.status === 429);
      expect(refused).toHaveLength(10);
      for (const response of refused) {
        expect(Number(response.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
        expect(((await response.json()) as { error: string }).error).toBe("rate_limited");
      }
    });
  });

  it("a refused request (bad scope) does not spend the budget", async () => {
    const client = await registerTestClient();
    await setOrgPolicy(client.orgId as string, { mintsPerMinutePerClient: 1 });
    await expectOAuthError(await clientCredentials(client, { scope: "nope" }), 400, "invalid_scope");
    expect((await clientCredentials(client)).status).toBe(200);
  });
});

describe("client_credentials: last use", () => {
  it("records last_used_at after the answer, at most once a minute", async () => {
    const client = await registerTestClient();
    const lastUsed = async () =>
      (
        await env.DB.prepare("SELECT last_used_at AS at FROM oauth_client WHERE client_id = ?")
          .bind(client.clientId)
          .first<{ at: number | null }>()
      )?.at ?? null;
    expect(await lastUsed()).toBeNull();
    expect((await clientCredentials(client)).status).toBe(200);
    await expect.poll(lastUsed).not.toBeNull();
    const first = await lastUsed();
    expect((await clientCredentials(client)).status).toBe(200);
    expect(await lastUsed()).toBe(first);
  });
});
