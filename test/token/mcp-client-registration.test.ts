import { env, exports } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { mcpResource } from "../../shared/contracts/mcp.ts";
import { clientAddress } from "../support/credential-limits.ts";
import { pkce, REDIRECT_URI } from "../support/runtime/browser-oidc.ts";
import { API, ISSUER, oidc } from "./oidc-fixture.ts";
import { CLIENT_REGISTRATION_LIMIT } from "../../workers/token/src/oidc/client-registration.ts";
import { adminRequest, expectHttpError } from "./admin-fixtures.ts";
import { createTestOrg } from "./clients-fixtures.ts";
import { operatorToken } from "./mcp-access-fixtures.ts";

// RFC 7591 Dynamic Client Registration behind a per-org switch
// (workers/token/src/oidc/client-registration.ts, admin/client-registration.ts):
// off unless the org's admins turn it on; on, an MCP client registers at
// /oauth2/register/<org> and is a browser client of that org only.

let operator: string;
beforeAll(async () => {
  operator = await operatorToken();
});

const PUBLIC_CLIENT = {
  client_name: "Example MCP client",
  redirect_uris: [REDIRECT_URI],
  grant_types: ["authorization_code", "refresh_token"],
  response_types: ["code"],
  token_endpoint_auth_method: "none",
};

function register(org: string, body: unknown = PUBLIC_CLIENT, contentType = "application/json") {
  return exports.default.fetch(
    new Request(`http://localhost${ENDPOINT.clientRegistration}/${encodeURIComponent(org)}`, {
      method: "POST",
      headers: { "Content-Type": contentType, "cf-connecting-ip": clientAddress() },
      body: typeof body === "string" ? body : JSON.stringify(body),
    }),
  );
}

function setting(orgId: string, on?: boolean) {
  const path = `/orgs/${orgId}/client-registration`;
  return on === undefined
    ? adminRequest("GET", path, { token: operator })
    : adminRequest("PUT", path, { token: operator, body: { dynamic_client_registration: on } });
}

async function expectOAuth(response: Response, status: number, error: string, description?: RegExp) {
  const body = (await response.json()) as { error: string; error_description: string };
  expect({ status: response.status, error: body.error }).toEqual({ status, error });
  if (description) expect(body.error_description).toMatch(description);
}

async function registerServer(orgId: string): Promise<string> {
  const name = `notes-${crypto.randomUUID().slice(0, 8)}`;
  const response = await adminRequest("POST", `/orgs/${orgId}/mcp-servers`, {
    token: operator,
    body: {
      name,
      upstream: `https://${name}.example.com/mcp`,
      scopes: ["documents:read"],
      tools: [{ name: "search", sensitivity: "normal" }],
      description: "the org's notes",
      owner: "platform@example.com",
    },
  });
  expect(response.status).toBe(201);
  return mcpResource(ISSUER, name);
}

/** authorize → consent → the code, redeemed by a public client for `resource`. */
async function codeFlow(clientId: string, cookie: string, resource: string) {
  const { verifier, challenge } = await pkce();
  const request = oidc.codeRequest(clientId, challenge, { scope: "documents:read", nonce: undefined, resource });
  const back = await oidc.authorizeAndConsent(request, cookie);
  return oidc.tokenRequest({
    grant_type: "authorization_code",
    client_id: clientId,
    code: back.searchParams.get("code") ?? "",
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
    resource,
  });
}

describe("dynamic client registration: the org's switch", () => {
  it("is off by default: 403 access_denied ERR_DCR_DISABLED, the same for an org that does not exist", async () => {
    const orgId = await createTestOrg();
    const view = await setting(orgId);
    expect(view.status).toBe(200);
    expect(await view.json()).toEqual({
      org_id: orgId,
      dynamic_client_registration: false,
      registration_endpoint: `${ISSUER}${ENDPOINT.clientRegistration}/${orgId}`,
      updated_at: null,
    });
    await expectOAuth(await register(orgId), 403, "access_denied", /^ERR_DCR_DISABLED:/);
    await expectOAuth(await register(`org-${crypto.randomUUID()}`), 403, "access_denied", /^ERR_DCR_DISABLED:/);
  });

  it("an admin turns it on, then off again: registration stops at once", async () => {
    const orgId = await createTestOrg();
    const on = await setting(orgId, true);
    expect(on.status).toBe(200);
    expect(await on.json()).toMatchObject({ org_id: orgId, dynamic_client_registration: true });
    expect((await register(orgId)).status).toBe(201);
    expect((await setting(orgId, false)).status).toBe(200);
    await expectOAuth(await register(orgId), 403, "access_denied", /^ERR_DCR_DISABLED:/);
  });

  it("the admin API refuses anything but a boolean: 400 invalid_body", async () => {
    const orgId = await createTestOrg();
    const response = await adminRequest("PUT", `/orgs/${orgId}/client-registration`, {
      token: operator,
      body: { dynamic_client_registration: "yes" },
    });
    await expectHttpError(response, 400, "invalid_body");
  });
});

describe("dynamic client registration: on", () => {
  it("registers a public client (RFC 7591 §3.2.1), which runs code + PKCE for a person of the org and gets a token for its server", async () => {
    const person = await oidc.signUp();
    expect((await setting(person.orgId, true)).status).toBe(200);
    const response = await register(person.orgId);
    expect(response.status).toBe(201);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const client = (await response.json()) as Record<string, unknown>;
    expect(client).toMatchObject({
      client_id: expect.stringMatching(/^oidc_/),
      client_name: "Example MCP client",
      redirect_uris: [REDIRECT_URI],
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
    });
    expect(client.client_secret).toBeUndefined();

    const resource = await registerServer(person.orgId);
    const tokens = await codeFlow(client.client_id as string, person.cookie, resource);
    expect(tokens.status, await tokens.clone().text()).toBe(200);
    const { access_token } = (await tokens.json()) as { access_token: string };
    expect(decodeJwt(access_token)).toMatchObject({ aud: resource, org_id: person.orgId, client_id: client.client_id });
  });

  it("a confidential client gets its secret once, stored only as a hash", async () => {
    const orgId = await createTestOrg();
    await setting(orgId, true);
    const response = await register(orgId, { ...PUBLIC_CLIENT, token_endpoint_auth_method: "client_secret_basic" });
    expect(response.status).toBe(201);
    const client = (await response.json()) as {
      client_id: string;
      client_secret: string;
      client_secret_expires_at: number;
    };
    expect(client.client_secret.length).toBeGreaterThan(30);
    expect(client.client_secret_expires_at).toBe(0);
    const row = await env.DB.prepare("SELECT client_secret, reference_id FROM oidc_client WHERE client_id = ?")
      .bind(client.client_id)
      .first<{ client_secret: string; reference_id: string }>();
    expect(row?.reference_id).toBe(orgId);
    expect(row?.client_secret).not.toContain(client.client_secret);
  });

  it("the client is its org's only: a person of another org gets invalid_grant ERR_CLIENT_ORG for its code", async () => {
    const orgId = await createTestOrg();
    await setting(orgId, true);
    const client = (await (await register(orgId)).json()) as { client_id: string };
    const stranger = await oidc.signUp();
    const resource = await registerServer(stranger.orgId);
    await expectOAuth(
      await codeFlow(client.client_id, stranger.cookie, resource),
      400,
      "invalid_grant",
      /^ERR_CLIENT_ORG:/,
    );
  });

  it("the redirect rules of every browser client: invalid_redirect_uri (RFC 7591 §3.2.2)", async () => {
    const orgId = await createTestOrg();
    await setting(orgId, true);
    for (const uris of [
      [],
      ["http://rp.example.test/callback"],
      ["https://rp.example.test/callback#frag"],
      ["https://user@rp.example.test/callback"],
      ["/callback"],
    ]) {
      await expectOAuth(await register(orgId, { ...PUBLIC_CLIENT, redirect_uris: uris }), 400, "invalid_redirect_uri");
    }
  });

  it("other metadata it will not take: invalid_client_metadata", async () => {
    const orgId = await createTestOrg();
    await setting(orgId, true);
    for (const change of [
      { grant_types: ["implicit"] },
      { grant_types: ["client_credentials"] },
      { response_types: ["token"] },
      { token_endpoint_auth_method: "private_key_jwt" },
      { scope: "admin" },
    ]) {
      await expectOAuth(await register(orgId, { ...PUBLIC_CLIENT, ...change }), 400, "invalid_client_metadata");
    }
    await expectOAuth(await register(orgId, "not json"), 400, "invalid_client_metadata");
    await expectOAuth(await register(orgId, PUBLIC_CLIENT, "text/plain"), 400, "invalid_client_metadata");
  });

  it(`is limited per org: after ${CLIENT_REGISTRATION_LIMIT.perOrg} in the window, 429 rate_limited with Retry-After`, async () => {
    const orgId = await createTestOrg();
    await setting(orgId, true);
    const answers = await Promise.all(
      Array.from({ length: CLIENT_REGISTRATION_LIMIT.perOrg + 3 }, () => register(orgId).then((r) => r.status)),
    );
    expect(answers.filter((s) => s === 201)).toHaveLength(CLIENT_REGISTRATION_LIMIT.perOrg);
    expect(answers.filter((s) => s === 429)).toHaveLength(3);
    const refused = await register(orgId);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("Retry-After")).toBe(String(CLIENT_REGISTRATION_LIMIT.windowSeconds));
    expect(((await refused.json()) as { error: string }).error).toBe("rate_limited");
  });
});
