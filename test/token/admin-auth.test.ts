import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { adminAudience, REALM } from "../../shared/contracts/endpoints.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { PLATFORM_ORG_ID } from "../../shared/contracts/tokens.ts";
import { adminRequest, adminToken, expectHttpError, registerOperator } from "./admin-fixtures.ts";
import { basicAuthorization, mintedToken, registerTestClient } from "./clients-fixtures.ts";
import { AUDIENCE, tokenRequest } from "./fixtures.ts";

async function expectBearerError(response: Response, status: number, error: string, code?: string) {
  const challenge = response.headers.get("WWW-Authenticate") ?? "";
  expect(challenge).toContain(`Bearer realm="${REALM}"`);
  expect(challenge).toContain(`error="${error}"`);
  const body = await expectHttpError(response, status, error);
  if (code) expect(body.error_description.startsWith(`${code}:`)).toBe(true);
}

describe("admin API: operator authentication (RFC 6750)", () => {
  it("401 with a bare Bearer challenge without a token, or with another scheme", async () => {
    for (const headers of [{}, { Authorization: "Basic Zm9vOmJhcg==" }] as Record<string, string>[]) {
      const response = await adminRequest("GET", "/orgs", { headers });
      expect(response.status).toBe(401);
      expect(response.headers.get("WWW-Authenticate")).toBe(`Bearer realm="${REALM}"`);
      expect(((await response.json()) as { error: string }).error).toBe("unauthorized");
    }
  });

  it("400 invalid_request for a malformed Bearer header", async () => {
    const response = await adminRequest("GET", "/orgs", { headers: { Authorization: "Bearer a b" } });
    await expectBearerError(response, 400, "invalid_request");
  });

  it("401 invalid_token for a token that is not ours, or not for the admin audience", async () => {
    await expectBearerError(
      await adminRequest("GET", "/orgs", { token: "not.a.jwt" }),
      401,
      "invalid_token",
      "ERR_TOKEN_MALFORMED",
    );
    // A real token of an org's client, for the API audience.
    const client = await registerTestClient();
    const apiToken = (
      (await (
        await tokenRequest(
          { grant_type: "client_credentials" },
          { headers: { Authorization: basicAuthorization(client.clientId, client.secret) } },
        )
      ).json()) as { access_token: string }
    ).access_token;
    expect(decodeJwt(apiToken).aud).toBe(AUDIENCE);
    await expectBearerError(
      await adminRequest("GET", "/orgs", { token: apiToken }),
      401,
      "invalid_token",
      "ERR_TOKEN_AUD",
    );
  });

  it("403 insufficient_scope for an admin-audience token without the admin scope", async () => {
    const operator = await registerOperator();
    const token = await mintedToken(operator, {
      audience: adminAudience(env.ISSUER),
      scope: "documents:read",
      orgId: PLATFORM_ORG_ID,
    });
    const response = await adminRequest("GET", "/orgs", { token });
    expect(response.headers.get("WWW-Authenticate")).toContain('scope="admin"');
    await expectBearerError(response, 403, "insufficient_scope");
  });

  it("403 forbidden for an admin token that is not the platform's", async () => {
    const operator = await registerOperator();
    const token = await mintedToken(operator, {
      audience: adminAudience(env.ISSUER),
      scope: "admin",
      orgId: "org-someone",
    });
    await expectHttpError(await adminRequest("GET", "/orgs", { token }), 403, "forbidden");
  });

  it("401 ERR_TOKEN_REVOKED for an admin token of an org client, a disabled operator, or a revoked jti", async () => {
    const orgClient = await registerTestClient();
    const forged = await mintedToken(orgClient, {
      audience: adminAudience(env.ISSUER),
      scope: "admin",
      orgId: PLATFORM_ORG_ID,
    });
    await expectBearerError(
      await adminRequest("GET", "/orgs", { token: forged }),
      401,
      "invalid_token",
      "ERR_TOKEN_REVOKED",
    );

    const operator = await registerOperator();
    const token = await adminToken(operator);
    expect((await adminRequest("GET", "/orgs", { token })).status).toBe(200);
    await env.DB.prepare("UPDATE oauth_client SET status = 'disabled' WHERE client_id = ?")
      .bind(operator.clientId)
      .run();
    await expectBearerError(await adminRequest("GET", "/orgs", { token }), 401, "invalid_token", "ERR_TOKEN_REVOKED");

    const other = await adminToken();
    const { jti, exp } = decodeJwt(other);
    await env.ORG_STATE.getByName(orgStateName(PLATFORM_ORG_ID)).revoke(
      { orgId: PLATFORM_ORG_ID, kind: "jti", value: jti as string, reason: "test" },
      exp,
    );
    await expectBearerError(
      await adminRequest("GET", "/orgs", { token: other }),
      401,
      "invalid_token",
      "ERR_TOKEN_REVOKED",
    );
  });

  it("an operator token passes", async () => {
    const response = await adminRequest("GET", "/orgs", { token: await adminToken() });
    expect(response.status).toBe(200);
    expect(Array.isArray(((await response.json()) as { orgs: unknown[] }).orgs)).toBe(true);
  });
});

describe("admin API: audit", () => {
  it("records every call with its operator, action, status and outcome; never a body", async () => {
    const operator = await registerOperator();
    const token = await adminToken(operator);
    const name = `audited-${crypto.randomUUID()}`;
    expect((await adminRequest("POST", "/orgs", { token, body: { name } })).status).toBe(201);
    await expectHttpError(await adminRequest("POST", "/orgs", { token, body: { nme: name } }), 400, "invalid_body");
    await expect
      .poll(async () =>
        (
          await env.AUDIT_DB.prepare(
            "SELECT outcome, detail FROM audit_event WHERE kind = 'admin.action' AND client_id = ? ORDER BY occurred_at",
          )
            .bind(operator.clientId)
            .all<{ outcome: string; detail: string }>()
        ).results.map((r) => {
          const d = JSON.parse(r.detail) as Record<string, unknown>;
          return [r.outcome, d.method, d.status, d.action ?? null, d.error ?? null];
        }),
      )
      .toEqual([
        ["allow", "POST", 201, "org.create", null],
        ["deny", "POST", 400, null, "invalid_body"],
      ]);
    const rows = await env.AUDIT_DB.prepare("SELECT detail FROM audit_event WHERE kind = 'admin.action'").all<{
      detail: string;
    }>();
    expect(rows.results.some((r) => r.detail.includes(name))).toBe(false);
  });

  it("a call naming an unknown org starts no chain of that id: the refusal is the platform's, the id a detail", async () => {
    const operator = await registerOperator();
    const token = await adminToken(operator);
    const unknown = `no-such-org-${crypto.randomUUID()}`;
    await expectHttpError(await adminRequest("GET", `/orgs/${unknown}/clients`, { token }), 404, "not_found");
    await expect
      .poll(async () =>
        env.AUDIT_DB.prepare(
          "SELECT org_id, outcome, detail FROM audit_event WHERE kind = 'admin.action' AND client_id = ?",
        )
          .bind(operator.clientId)
          .all<{ org_id: string | null; outcome: string; detail: string }>()
          .then(({ results }) =>
            results.map((r) => [
              r.org_id,
              r.outcome,
              (JSON.parse(r.detail) as { requested_org?: string }).requested_org,
            ]),
          ),
      )
      .toEqual([[null, "deny", unknown]]);
    const chained = await env.AUDIT_DB.prepare("SELECT COUNT(*) AS n FROM audit_event WHERE org_id = ?")
      .bind(unknown)
      .first<{ n: number }>();
    expect(chained?.n).toBe(0);
  });
});
