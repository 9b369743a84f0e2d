import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { AGENT_API } from "../../shared/contracts/mcp.ts";
import { GRANT_TYPE } from "../../shared/contracts/tokens.ts";
import { generateClientId } from "../../shared/crypto/client-id.ts";
import { generateClientSecret, hashSecret } from "../../shared/crypto/secret-hash.ts";
import { oauthClient } from "../../shared/db/schema.ts";
import { clientAddress } from "../support/credential-limits.ts";
import { oidcDriver, pkce, REDIRECT_URI } from "../support/runtime/browser-oidc.ts";
import { gatewayFetch } from "./signed-token.ts";

// The whole review cycle on the one origin, as its people and agents meet it
// (no test key: every token here is the token Worker's): an agent is refused
// the demo's sensitive tool at the gateway, files an access request at the
// agent API, the org's owner approves it in the console (a signed-in browser
// posting the page's form), the same call now passes; the owner revokes the
// grant in the console and the call is refused again. The agent is a
// machine client acting as itself, or an MCP client a person authorized in
// the browser (authorization code), acting for that person.
const ORIGIN = "http://localhost:8787";
const DEMO = `${env.ISSUER}${ENDPOINT.mcpDemo}`;

const people = oidcDriver({
  issuer: env.ISSUER,
  apiAudience: env.API_AUDIENCE,
  db: env.DB,
  authn: (request) => gatewayFetch(request.url, request),
  tokenEndpoint: `${ORIGIN}${ENDPOINT.token}`,
  token: (request) => gatewayFetch(request.url, request),
  jwks: async () => (await gatewayFetch(`${ORIGIN}${ENDPOINT.jwks}`)).json(),
});

/** An agent of the org, as the admin API registers one: client credentials, the API and the demo as audiences. */
async function registerAgent(orgId: string) {
  const clientId = generateClientId();
  const secret = generateClientSecret();
  const now = new Date();
  await drizzle(env.DB)
    .insert(oauthClient)
    .values({
      clientId,
      orgId,
      name: "review agent",
      type: "agent",
      authMethod: "client_secret_basic",
      secretHash: await hashSecret(secret),
      grantTypes: GRANT_TYPE.clientCredentials,
      scopes: "documents:read",
      audiences: `${env.API_AUDIENCE} ${DEMO}`,
      status: "active",
      createdAt: now,
      updatedAt: now,
    });
  return async (resource: string) => {
    const response = await gatewayFetch(`${ORIGIN}${ENDPOINT.token}`, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        Authorization: `Basic ${btoa(`${clientId}:${secret}`)}`,
        "cf-connecting-ip": clientAddress(),
      },
      body: new URLSearchParams({ grant_type: GRANT_TYPE.clientCredentials, resource }),
    });
    expect(response.status, await response.clone().text()).toBe(200);
    return ((await response.json()) as { access_token: string }).access_token;
  };
}

let nextId = 1;
function callPurge(token: string) {
  return gatewayFetch(`${ORIGIN}${ENDPOINT.mcpDemo}`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
      Authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: nextId++,
      method: "tools/call",
      params: { name: "purge_documents", arguments: {} },
    }),
  });
}

async function expectGrantRequired(response: Response) {
  expect(response.status).toBe(403);
  expect(response.headers.get("WWW-Authenticate")).toContain('error="insufficient_scope"');
  expect(await response.json()).toMatchObject({
    error: "insufficient_scope",
    error_description: expect.stringMatching(/^ERR_GRANT_REQUIRED:/),
  });
}

/** An MCP client the person authorizes in the browser (code + PKCE + consent), and its token for `resource`. */
async function browserFlowClient(cookie: string) {
  const client = await people.browserClient({
    type: "public",
    scopes: ["openid", "documents:read"],
    resources: [env.API_AUDIENCE, DEMO],
  });
  return async (resource: string) => {
    const { verifier, challenge } = await pkce();
    const request = people.codeRequest(client.clientId, challenge, {
      scope: "documents:read",
      nonce: undefined,
      resource,
    });
    const back = await people.authorizeAndConsent(request, cookie);
    const response = await people.tokenRequest({
      grant_type: "authorization_code",
      client_id: client.clientId,
      code: back.searchParams.get("code") ?? "",
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
      resource,
    });
    expect(response.status, await response.clone().text()).toBe(200);
    return ((await response.json()) as { access_token: string }).access_token;
  };
}

/** A console form posted from the console's own page (same origin, the owner's session). */
function consolePost(path: string, cookie: string) {
  return gatewayFetch(`${ORIGIN}${ENDPOINT.console}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: cookie, Origin: ORIGIN },
    body: "",
    redirect: "manual",
  });
}

describe("an owner's approval in the console unlocks the sensitive tool for the agent; revoking it there locks it again", () => {
  it("403 ERR_GRANT_REQUIRED → request → console approve → 200 → console revoke → 403 ERR_GRANT_REQUIRED", async () => {
    const owner = await people.signUp("Org Owner");
    const tokenFor = await registerAgent(owner.orgId);
    const mcpToken = await tokenFor(DEMO);
    await expectGrantRequired(await callPurge(mcpToken));

    const filed = await gatewayFetch(`${ORIGIN}${AGENT_API.accessRequests}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${await tokenFor(env.API_AUDIENCE)}` },
      body: JSON.stringify({ server: "demo", tools: ["purge_documents"], reason: "clean up", ttl_seconds: 3600 }),
    });
    expect(filed.status).toBe(201);
    const request = (await filed.json()) as { id: string; status: string };
    expect(request.status).toBe("pending");

    const org = encodeURIComponent(owner.orgId);
    const approved = await consolePost(
      `/orgs/${org}/mcp/requests/${encodeURIComponent(request.id)}/approve`,
      owner.cookie,
    );
    expect(approved.status).toBe(200);
    expect(await approved.text()).toContain("Approved: a grant was created.");

    const allowed = await callPurge(mcpToken);
    expect(allowed.status).toBe(200);
    const body = (await allowed.json()) as { result?: { content: { text: string }[] } };
    expect(body.result?.content[0]?.text).toMatch(/^would purge \d+ documents$/);

    const grant = await env.DB.prepare("SELECT id FROM mcp_grant WHERE org_id = ? AND status = 'active'")
      .bind(owner.orgId)
      .first<{ id: string }>();
    expect(grant).not.toBeNull();
    const revoked = await consolePost(
      `/orgs/${org}/mcp/grants/${encodeURIComponent(grant?.id ?? "")}/revoke`,
      owner.cookie,
    );
    expect(revoked.status).toBe(200);
    expect(await revoked.text()).toContain("Grant revoked.");
    await expectGrantRequired(await callPurge(mcpToken));
  });

  it("an MCP client the person authorized in the browser: refused until the owner approves its request for that person, then revoked again", async () => {
    const owner = await people.signUp("Org Owner");
    const tokenFor = await browserFlowClient(owner.cookie);
    const mcpToken = await tokenFor(DEMO);
    await expectGrantRequired(await callPurge(mcpToken));

    const filed = await gatewayFetch(`${ORIGIN}${AGENT_API.accessRequests}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${await tokenFor(env.API_AUDIENCE)}` },
      body: JSON.stringify({ server: "demo", tools: ["purge_documents"], reason: "clean up my documents" }),
    });
    expect(filed.status).toBe(201);
    const request = (await filed.json()) as { id: string; on_behalf_of: string };
    expect(request.on_behalf_of).toBe(owner.userId);

    const org = encodeURIComponent(owner.orgId);
    const approved = await consolePost(
      `/orgs/${org}/mcp/requests/${encodeURIComponent(request.id)}/approve`,
      owner.cookie,
    );
    expect(await approved.text()).toContain("Approved: a grant was created.");
    const allowed = await callPurge(mcpToken);
    expect(allowed.status, await allowed.clone().text()).toBe(200);

    const grant = await env.DB.prepare("SELECT id FROM mcp_grant WHERE org_id = ? AND status = 'active'")
      .bind(owner.orgId)
      .first<{ id: string }>();
    const revoked = await consolePost(
      `/orgs/${org}/mcp/grants/${encodeURIComponent(grant?.id ?? "")}/revoke`,
      owner.cookie,
    );
    expect(await revoked.text()).toContain("Grant revoked.");
    await expectGrantRequired(await callPurge(mcpToken));
  });
});
