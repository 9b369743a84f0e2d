import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import migration0024 from "../../migrations/0024_rp_initiated_logout.sql?raw";
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

/**
 * A browser client an org registered itself (dynamic client registration:
 * `reference_id` is its org, RP-initiated logout off), as the provider
 * stores it; returns its client id.
 */
async function insertDcrClient(): Promise<string> {
  const clientId = `oidc_dcr-${crypto.randomUUID()}`;
  await env.DB.prepare(
    `INSERT INTO oidc_client (id, client_id, redirect_uris, enable_end_session, reference_id)
     VALUES (?, ?, '["https://rp.example/cb"]', 0, 'org-1')`,
  )
    .bind(clientId, clientId)
    .run();
  return clientId;
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

  it("registers where RP-initiated logout may return the browser, turns logout on, and replaces or clears the list", async () => {
    const token = await adminToken();
    const back = "https://reports.example.test/signed-out";
    const response = await adminRequest("POST", "/oidc-clients", {
      token,
      body: {
        client_name: "Logout",
        redirect_uris: ["https://reports.example.test/cb"],
        post_logout_redirect_uris: [back],
      },
    });
    expect(response.status).toBe(201);
    const created = (await response.json()) as Created & { post_logout_redirect_uris: string[] };
    expect(created.post_logout_redirect_uris).toEqual([back]);
    const row = () =>
      env.DB.prepare("SELECT enable_end_session, post_logout_redirect_uris FROM oidc_client WHERE client_id = ?")
        .bind(created.client_id)
        .first<{ enable_end_session: number; post_logout_redirect_uris: string }>();
    expect(await row()).toEqual({ enable_end_session: 1, post_logout_redirect_uris: JSON.stringify([back]) });

    const path = `/oidc-clients/${created.client_id}`;
    const other = "http://localhost:3000/bye";
    const patched = await adminRequest("PATCH", path, { token, body: { post_logout_redirect_uris: [other] } });
    expect(patched.status).toBe(200);
    expect(((await patched.json()) as { post_logout_redirect_uris: string[] }).post_logout_redirect_uris).toEqual([
      other,
    ]);
    const cleared = await adminRequest("PATCH", path, { token, body: { post_logout_redirect_uris: [] } });
    expect(((await cleared.json()) as { post_logout_redirect_uris: string[] }).post_logout_redirect_uris).toEqual([]);
    const refused = await expectHttpError(
      await adminRequest("PATCH", path, { token, body: { post_logout_redirect_uris: ["https://x.example/#f"] } }),
      400,
      "invalid_body",
    );
    expect(refused.error_description).toMatch(/^post_logout_redirect_uris: /);
    expect((await row())?.post_logout_redirect_uris).toBe("[]");
  });

  it("refuses post-logout URIs for an org's own (DCR) client, which has RP-initiated logout off: 400 invalid_body", async () => {
    const clientId = await insertDcrClient();
    const body = await expectHttpError(
      await adminRequest("PATCH", `/oidc-clients/${clientId}`, {
        token: await adminToken(),
        body: { post_logout_redirect_uris: ["https://rp.example/bye"] },
      }),
      400,
      "invalid_body",
    );
    expect(body.error_description).toMatch(
      /^post_logout_redirect_uris: this client was registered by its organization/,
    );
  });

  it("registers a back-channel logout URI (OIDC Back-Channel Logout 1.0 §2.2), replaces or turns it off; refuses a bad one", async () => {
    const token = await adminToken();
    const uri = "https://reports.example.test/backchannel?tenant=a";
    const response = await adminRequest("POST", "/oidc-clients", {
      token,
      body: {
        client_name: "Back-channel",
        redirect_uris: ["https://reports.example.test/cb"],
        backchannel_logout_uri: uri,
      },
    });
    expect(response.status).toBe(201);
    const created = (await response.json()) as Created & { backchannel_logout_uri: string | null };
    expect(created.backchannel_logout_uri).toBe(uri);
    const row = () =>
      env.DB.prepare(
        "SELECT backchannel_logout_uri AS uri, backchannel_logout_session_required AS sid FROM oidc_client WHERE client_id = ?",
      )
        .bind(created.client_id)
        .first<{ uri: string | null; sid: number | null }>();
    // Better Auth's Logout Token always carries `sid`, so the registration says the client may require it.
    expect(await row()).toEqual({ uri, sid: 1 });

    const path = `/oidc-clients/${created.client_id}`;
    const moved = await adminRequest("PATCH", path, {
      token,
      body: { backchannel_logout_uri: "http://127.0.0.1:9/bc" },
    });
    expect(moved.status).toBe(200);
    expect(((await moved.json()) as { backchannel_logout_uri: string }).backchannel_logout_uri).toBe(
      "http://127.0.0.1:9/bc",
    );
    const off = await adminRequest("PATCH", path, { token, body: { backchannel_logout_uri: null } });
    expect(((await off.json()) as { backchannel_logout_uri: string | null }).backchannel_logout_uri).toBeNull();
    expect(await row()).toEqual({ uri: null, sid: null });

    for (const bad of [
      "http://rp.example/bc",
      "https://rp.example/bc#frag",
      "https://user@rp.example/bc",
      // The provider POSTs there: the outbound guard's private, link-local and metadata hosts are refused.
      "https://10.0.0.1/bc",
      "https://169.254.169.254/latest",
      "https://[::ffff:10.0.0.1]/bc",
      "HTTPS://RP.example/bc",
      "not a url",
      "",
      7,
    ]) {
      const patched = await expectHttpError(
        await adminRequest("PATCH", path, { token, body: { backchannel_logout_uri: bad } }),
        400,
        "invalid_body",
      );
      expect(patched.error_description).toMatch(/^backchannel_logout_uri/);
      const posted = await expectHttpError(
        await adminRequest("POST", "/oidc-clients", {
          token,
          body: { client_name: "Bad", redirect_uris: ["https://reports.example.test/cb"], backchannel_logout_uri: bad },
        }),
        400,
        "invalid_body",
      );
      expect(posted.error_description).toMatch(/^backchannel_logout_uri/);
    }
    expect(await row()).toEqual({ uri: null, sid: null });
  });

  it("refuses a back-channel logout URI for an org's own (DCR) client: 400 invalid_body", async () => {
    const clientId = await insertDcrClient();
    const body = await expectHttpError(
      await adminRequest("PATCH", `/oidc-clients/${clientId}`, {
        token: await adminToken(),
        body: { backchannel_logout_uri: "https://rp.example/bc" },
      }),
      400,
      "invalid_body",
    );
    expect(body.error_description).toMatch(/^backchannel_logout_uri: this client was registered by its organization/);
  });

  it("migration 0024 turns logout on for clients operators registered before, not for CIMD or org-registered ones", async () => {
    const ids = ["operator", "cimd", "dcr"].map((kind) => `${kind}-${crypto.randomUUID()}`);
    const [operatorId, cimdId, dcrId] = ids as [string, string, string];
    const insert = (id: string, discovery: string | null, reference: string | null) =>
      env.DB.prepare(
        `INSERT INTO oidc_client (id, client_id, redirect_uris, enable_end_session, client_discovery_id, reference_id)
         VALUES (?, ?, '["https://rp.example/cb"]', 0, ?, ?)`,
      ).bind(id, id, discovery, reference);
    await env.DB.batch([insert(operatorId, null, null), insert(cimdId, "cimd", null), insert(dcrId, null, "org-1")]);
    const update = migration0024
      .replace(/^\s*--.*$/gm, "")
      .trim()
      .replace(/;$/, "");
    await env.DB.prepare(`${update} AND id IN (?, ?, ?)`)
      .bind(...ids)
      .run();
    const { results } = await env.DB.prepare(
      "SELECT id, enable_end_session AS on_ FROM oidc_client WHERE id IN (?, ?, ?) ORDER BY id",
    )
      .bind(...ids)
      .all<{ id: string; on_: number }>();
    expect(Object.fromEntries(results.map((r) => [r.id, r.on_]))).toEqual({ [operatorId]: 1, [cimdId]: 0, [dcrId]: 0 });
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
    [
      "a post-logout redirect URI with userinfo",
      { redirect_uris: ["https://good.example/cb"], post_logout_redirect_uris: ["https://good.example@evil.example/"] },
    ],
    [
      "plain http post-logout redirect off loopback",
      { redirect_uris: ["https://good.example/cb"], post_logout_redirect_uris: ["http://good.example/bye"] },
    ],
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
