import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { clientToken, registerTestClient } from "./clients-fixtures.ts";

const API = env.ALLOWED_AUDIENCES.split(" ")[0] as string;

interface Created {
  client_id: string;
  client_secret?: string;
  token_endpoint_auth_method: string;
  redirect_uris: string[];
  scope: string;
  resources: string[];
}

describe("admin API: browser (OpenID Connect) clients", () => {
  it("registers a confidential client (secret once, stored hashed, PKCE required) and lists it without the secret", async () => {
    const token = await adminToken();
    const response = await adminRequest("POST", "/oidc-clients", {
      token,
      body: { client_name: "Reports", redirect_uris: ["https://reports.example.test/cb"] },
    });
    expect(response.status).toBe(201);
    const created = (await response.json()) as Created;
    expect(created.client_id).toMatch(/^oidc_/);
    expect(created.client_secret).toMatch(/^mas_/);
    expect(created).toMatchObject({
      token_endpoint_auth_method: "client_secret_basic",
      scope: "openid profile email offline_access",
      resources: [API],
    });
    const row = await env.DB.prepare("SELECT client_secret, require_pkce FROM oidc_client WHERE client_id = ?")
      .bind(created.client_id)
      .first<{ client_secret: string; require_pkce: number }>();
    expect(row?.client_secret.startsWith("sha256:")).toBe(true);
    expect(row?.require_pkce).toBe(1);

    const listed = await adminRequest("GET", "/oidc-clients", { token });
    expect(listed.status).toBe(200);
    const text = await listed.text();
    expect(text).toContain(created.client_id);
    expect(text).not.toContain(created.client_secret ?? "none");
  });

  it("registers a public client without a secret", async () => {
    const response = await adminRequest("POST", "/oidc-clients", {
      token: await adminToken(),
      body: { client_name: "SPA", redirect_uris: ["http://localhost:5173/cb"], type: "public", scope: "openid" },
    });
    expect(response.status).toBe(201);
    const created = (await response.json()) as Created;
    expect(created.client_secret).toBeUndefined();
    expect(created.token_endpoint_auth_method).toBe("none");
  });

  const refusals: [string, Record<string, unknown>][] = [
    ["a redirect URI with userinfo (GHSA-86j7-9j95-vpqj)", { redirect_uris: ["https://good.example@evil.example/cb"] }],
    ["a redirect URI with a fragment", { redirect_uris: ["https://good.example/cb#x"] }],
    ["plain http off loopback", { redirect_uris: ["http://good.example/cb"] }],
    ["no redirect URI", { redirect_uris: [] }],
    ["the operators' admin scope", { redirect_uris: ["https://good.example/cb"], scope: "openid admin" }],
    ["scopes without openid", { redirect_uris: ["https://good.example/cb"], scope: "documents:read" }],
    [
      "a resource the issuer does not serve",
      { redirect_uris: ["https://good.example/cb"], resources: ["https://x.example"] },
    ],
    ["an unknown field", { redirect_uris: ["https://good.example/cb"], grant_types: ["implicit"] }],
  ];
  for (const [what, body] of refusals) {
    it(`refuses ${what} with 400 invalid_body`, async () => {
      const response = await adminRequest("POST", "/oidc-clients", {
        token: await adminToken(),
        body: { client_name: "Bad", ...body },
      });
      await expectHttpError(response, 400, "invalid_body");
    });
  }

  it("is for platform operators only: an org client's API token is 401 invalid_token, none is 401", async () => {
    const orgClient = await registerTestClient({ scopes: ["documents:read"] });
    const apiToken = await clientToken(orgClient);
    await expectHttpError(await adminRequest("GET", "/oidc-clients", { token: apiToken }), 401, "invalid_token");
    await expectHttpError(
      await adminRequest("POST", "/oidc-clients", {
        body: { client_name: "x", redirect_uris: ["https://a.example/cb"] },
      }),
      401,
      "unauthorized",
    );
  });
});
