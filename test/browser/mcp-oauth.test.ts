// The MCP authorization flow a person goes through, with the official MCP
// TypeScript SDK unmodified as the MCP client: its Client connects to
// /mcp/demo, gets 401 with the RFC 9728 resource metadata, discovers our
// issuer (RFC 8414), uses its pre-registered client, and sends the person to
// the authorization endpoint with PKCE S256 and RFC 8707 `resource`; the
// person signs up, sees the consent page and allows it in a real Chromium;
// the SDK's transport finishes the code exchange (finishAuth) and the client
// lists tools and calls the harmless one. The token's audience is exactly
// /mcp/demo. The same client is an agent acting for the person: the
// sensitive tool is refused (403 insufficient_scope ERR_GRANT_REQUIRED)
// until the client's access request, filed at the agent API, is approved;
// then the SDK's call succeeds, and once the grant is revoked it is refused
// again within the revocation bound. Then the same with no registration at all: the SDK's
// `clientMetadataUrl`, a Client ID Metadata Document the authn Worker
// fetches from its https host (test/support/runtime/cimd-host, reached
// through CIMD_OUTBOUND in this system: no network). Screenshots go to
// test/artifacts/ (git-ignored).
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { OAuthClientInformationMixed } from "@modelcontextprotocol/sdk/shared/auth.js";
import { decodeJwt } from "jose";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { launchChromium } from "../support/chromium.ts";
import { interopOperator } from "../support/interop.ts";
import { BrowserClientProvider } from "../support/mcp-browser-client.ts";
import { pkcePair } from "../support/pkce.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

const ARTIFACTS = resolve(import.meta.dirname, "../artifacts");
/** The MCP client's callback: Chromium's request there is answered by the test (page.route). */
const REDIRECT_URI = "https://mcp-client.example.test/callback";

let system: RunningSystem;
let browser: Browser;
let page: Page;
let clientId: string;
let mcpUrl: URL;
let operator: Awaited<ReturnType<typeof interopOperator>>;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  system = await startSystem({ cimdHost: true });
  mcpUrl = new URL("/mcp/demo", system.origin);
  operator = await interopOperator(system);
  // Pre-registered by the operator (docs/endpoints.md, browser clients): a
  // public client (PKCE, no secret) that may ask tokens for the demo MCP server.
  const registered = await operator.admin("POST", "/oidc-clients", {
    client_name: "Example MCP client",
    redirect_uris: [REDIRECT_URI],
    type: "public",
    scope: ["openid", "documents:read"],
    // The API audience too: the client files its access requests at the agent API.
    resources: [mcpUrl.href, new URL("/api", system.origin).href],
  });
  expect(registered.status, await registered.clone().text()).toBe(201);
  clientId = ((await registered.json()) as { client_id: string }).client_id;
  browser = await launchChromium();
  page = await browser.newPage();
  await page.route(`${REDIRECT_URI}**`, (route) =>
    route.fulfill({ status: 200, contentType: "text/html", body: "<h1>Back at the MCP client</h1>" }),
  );
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await system?.close();
});

/** A new person signs up in `tab`, follows the authorization URL and allows the client on the consent page. */
async function signUpAndAllow(tab: Page, name: string, authorize: string, screenshot?: string) {
  const first = name.split(" ")[0]?.toLowerCase() ?? "person";
  await tab.goto(`${system.origin}${ENDPOINT.signUp}`);
  await tab.getByLabel("Name").fill(name);
  await tab.getByLabel("Email").fill(`${first}-${crypto.randomUUID().slice(0, 8)}@example.com`);
  await tab.getByLabel("Password").fill("a long enough passphrase");
  await tab.getByRole("button", { name: "Create account" }).click();
  await tab.waitForURL(`${system.origin}${ENDPOINT.app}`);
  await tab.goto(authorize);
  await tab.waitForURL(`${system.origin}${ENDPOINT.consent}?**`);
  await expect
    .poll(() => tab.getByRole("heading", { level: 1 }).textContent())
    .toBe("Allow Example MCP client to access your account?");
  if (screenshot) await tab.screenshot({ path: screenshot, fullPage: true });
  await tab.getByTestId("consent-approve").click();
}

/** The SDK client of the first test, kept for the review cycle after it. */
let onboarded: BrowserClientProvider | undefined;

/** The authorization request (RFC 6749 §4.1.1, PKCE S256, RFC 8707 `resource`) of the pre-registered client. */
function authorizeUrl(resource: string, challenge: string, state: string): string {
  const url = new URL(`${system.origin}${ENDPOINT.authApi}/oauth2/authorize`);
  for (const [name, value] of Object.entries({
    response_type: "code",
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    scope: "documents:read",
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
    resource,
  })) {
    url.searchParams.set(name, value);
  }
  return url.href;
}

/** A code for `resource` from the signed-in person's browser, allowing the consent page if it is shown. */
async function authorizationCode(resource: string, challenge: string, state: string): Promise<string> {
  const url = authorizeUrl(resource, challenge, state);
  // A server redirect to the callback is not routed by page.route (Playwright follows it on the
  // network): the request Chromium makes there is what the client would receive. A resource the
  // person has not consented to for this client yet shows the consent page first.
  const back = page.waitForRequest((r) => r.url().startsWith(`${REDIRECT_URI}?`));
  await page.goto(url).catch(() => null);
  if (page.url().startsWith(`${system.origin}${ENDPOINT.consent}`)) await page.getByTestId("consent-approve").click();
  return new URL((await back).url()).searchParams.get("code") ?? "";
}

/** Redeems a code of the pre-registered public client at the token endpoint (PKCE, RFC 8707 `resource`). */
function redeem(code: string, verifier: string, resource: string): Promise<Response> {
  return system.fetch(ENDPOINT.token, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: clientId,
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
      resource,
    }),
  });
}

describe("MCP SDK auth(): authorization code + PKCE with consent in Chromium", () => {
  it("onboards, gets a token for exactly /mcp/demo, lists tools and calls the harmless one", async () => {
    const provider = new BrowserClientProvider(REDIRECT_URI, () => clientId);
    onboarded = provider;

    // 1. The first connect: 401 → resource metadata → AS metadata → authorization URL.
    const first = await new Client({ name: "mono-auth-mcp-oauth", version: "1.0.0" })
      .connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider }))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(first).toBeInstanceOf(UnauthorizedError);
    const authorize = provider.authorizationUrl;
    expect(authorize).toBeDefined();
    if (!authorize) return;
    expect(`${authorize.origin}${authorize.pathname}`).toBe(`${system.origin}${ENDPOINT.authApi}/oauth2/authorize`);
    expect(Object.fromEntries(authorize.searchParams)).toMatchObject({
      response_type: "code",
      client_id: clientId,
      redirect_uri: REDIRECT_URI,
      code_challenge_method: "S256",
      resource: mcpUrl.href,
      scope: "documents:read",
    });

    // 2. The person: signs up, follows the authorization URL, allows on the consent page.
    await signUpAndAllow(page, "Grace Hopper", authorize.href, `${ARTIFACTS}/mcp-oauth-consent.png`);
    await page.waitForURL(`${REDIRECT_URI}?**`);
    const back = new URL(page.url());
    // RFC 9207: the issuer in the authorization response.
    expect(back.searchParams.get("iss")).toBe(system.origin);
    expect(back.searchParams.get("state")).toBe(authorize.searchParams.get("state"));
    const code = back.searchParams.get("code") ?? "";
    expect(code).not.toBe("");
    await page.screenshot({ path: `${ARTIFACTS}/mcp-oauth-returned.png` });

    // 3. The SDK exchanges the code (PKCE verifier, resource) and connects with the token.
    const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider });
    await transport.finishAuth(code);
    const access = provider.tokensSaved?.access_token ?? "";
    expect(decodeJwt(access)).toMatchObject({ iss: system.origin, aud: mcpUrl.href, client_id: clientId });

    const client = new Client({ name: "mono-auth-mcp-oauth", version: "1.0.0" });
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(["list_documents", "purge_documents"]);
      const listed = await client.callTool({ name: "list_documents", arguments: {} });
      const content = listed.content as { type: string; text: string }[];
      const rows = JSON.parse(content[0]?.text ?? "") as { org_id: string }[];
      expect(rows.every((r) => r.org_id === decodeJwt(access).org_id)).toBe(true);
    } finally {
      await client.close();
    }
  });

  it("refuses a resource the client may not have: invalid_target at the authorization endpoint (RFC 8707 §2), and at the token endpoint", async () => {
    // The person is signed in from the test above.
    const elsewhere = `${system.origin}/mcp/nowhere`;
    const { verifier, challenge } = await pkcePair();
    const authorize = (resource: string) => authorizeUrl(resource, challenge, "target");
    // A server redirect to the callback is not routed by page.route (Playwright follows it on the
    // network): the request Chromium makes there is what the client would receive.
    const callback = () => page.waitForRequest((r) => r.url().startsWith(`${REDIRECT_URI}?`));
    const [toClient] = await Promise.all([callback(), page.goto(authorize(elsewhere)).catch(() => null)]);
    const refused = new URL(toClient.url());
    expect(refused.searchParams.get("error")).toBe("invalid_target");
    expect(refused.searchParams.get("state")).toBe("target");
    expect(refused.searchParams.get("iss")).toBe(system.origin);

    // A code granted for /mcp/demo cannot be redeemed for another resource.
    // Consent was given above: the code comes straight back.
    const [granted] = await Promise.all([callback(), page.goto(authorize(mcpUrl.href)).catch(() => null)]);
    const code = new URL(granted.url()).searchParams.get("code") ?? "";
    expect(code).not.toBe("");
    const token = await redeem(code, verifier, elsewhere);
    const body = (await token.json()) as { error?: string };
    expect({ status: token.status, error: body.error }).toEqual({ status: 400, error: "invalid_target" });
  });

  it("is refused the sensitive tool until the person's org approves the client's request; a revoked grant refuses it again", async () => {
    const provider = onboarded;
    expect(provider?.tokensSaved).toBeDefined();
    if (!provider) return;
    const mcpToken = provider.tokensSaved?.access_token ?? "";
    const orgId = String(decodeJwt(mcpToken).org_id);
    const purge = async () => {
      const client = new Client({ name: "mono-auth-mcp-oauth", version: "1.0.0" });
      await client.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider }));
      try {
        return await client.callTool({ name: "purge_documents", arguments: {} });
      } finally {
        await client.close();
      }
    };
    // What the SDK's transport gets from the gateway, exactly.
    const refusal = async () => {
      const response = await system.fetch(ENDPOINT.mcpDemo, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json, text/event-stream",
          Authorization: `Bearer ${mcpToken}`,
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "tools/call",
          params: { name: "purge_documents", arguments: {} },
        }),
      });
      return {
        status: response.status,
        body: (await response.json()) as { error?: string; error_description?: string },
      };
    };

    // 1. A client the person authorized is an agent acting for them: the sensitive tool needs a grant.
    await expect(purge()).rejects.toThrow();
    const refused = await refusal();
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe("insufficient_scope");
    expect(refused.body.error_description).toMatch(/^ERR_GRANT_REQUIRED:/);

    // 2. The client files an access request at the agent API, with its token for the API audience.
    const { verifier, challenge } = await pkcePair();
    const api = new URL("/api", system.origin).href;
    const code = await authorizationCode(api, challenge, "agent-api");
    expect(code).not.toBe("");
    const apiToken = await redeem(code, verifier, api);
    expect(apiToken.status, await apiToken.clone().text()).toBe(200);
    const filed = await system.fetch("/agent/v1/access-requests", {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Authorization: `Bearer ${((await apiToken.json()) as { access_token: string }).access_token}`,
      },
      body: JSON.stringify({ server: "demo", tools: ["purge_documents"], reason: "clean up my documents" }),
    });
    expect(filed.status, await filed.clone().text()).toBe(201);
    const request = (await filed.json()) as { id: string; status: string };
    expect(request.status).toBe("pending");

    // 3. The org's admin approves it; the SDK's next call succeeds.
    const org = encodeURIComponent(orgId);
    const approved = await operator.admin(
      "POST",
      `/orgs/${org}/access-requests/${encodeURIComponent(request.id)}/approve`,
      {
        note: "ok for today",
      },
    );
    expect(approved.status, await approved.clone().text()).toBe(200);
    const { grant } = (await approved.json()) as { grant: { id: string } };
    // The gateway reuses registry answers for at most the revocation bound (gateway/src/mcp/registry-cache.ts).
    await expect.poll(async () => (await refusal()).status, { timeout: 20_000, interval: 200 }).toBe(200);
    const done = await purge();
    const content = done.content as { type: string; text: string }[];
    expect(content[0]?.text).toMatch(/^would purge \d+ documents$/);

    // 4. The grant is revoked (a grant revocation in the org's object before the 200): refused again.
    const revoked = await operator.admin("DELETE", `/orgs/${org}/mcp-grants/${encodeURIComponent(grant.id)}`);
    expect(revoked.status).toBe(200);
    await expect.poll(async () => (await refusal()).status, { timeout: 20_000, interval: 200 }).toBe(403);
    await expect(purge()).rejects.toThrow();
    const again = await refusal();
    expect(again.status).toBe(403);
    expect(again.body.error_description).toMatch(/^ERR_GRANT_REQUIRED:/);
  });

  it("onboards by Client ID Metadata Document (the SDK's clientMetadataUrl): the document's URL is the client_id, and the token is for /mcp/demo", async () => {
    const documentUrl = "https://client.example.test/clients/good";
    // The document's only redirect URI (test/support/runtime/cimd-host/index.ts).
    const callback = "https://client.example.test/callback";
    const provider = new (class extends BrowserClientProvider {
      saved?: OAuthClientInformationMixed;
      clientMetadataUrl = documentUrl;
      // No registered client: the id is the document's URL, saved once the SDK has it.
      override clientInformation() {
        return this.saved as OAuthClientInformationMixed;
      }
      saveClientInformation(info: OAuthClientInformationMixed) {
        this.saved = info;
      }
    })(callback, () => documentUrl);
    const first = await new Client({ name: "mono-auth-mcp-cimd", version: "1.0.0" })
      .connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider }))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(first).toBeInstanceOf(UnauthorizedError);
    const authorize = provider.authorizationUrl;
    if (!authorize) throw new Error("no authorization URL");
    expect(authorize.searchParams.get("client_id")).toBe(documentUrl);

    // A person of their own, in a fresh browser context.
    const person = await browser.newPage();
    await person.route(`${callback}**`, (route) =>
      route.fulfill({ status: 200, contentType: "text/html", body: "<h1>Back at the MCP client</h1>" }),
    );
    try {
      await signUpAndAllow(person, "Ada Lovelace", authorize.href);
      await person.waitForURL(`${callback}?**`);
      const code = new URL(person.url()).searchParams.get("code") ?? "";
      expect(code).not.toBe("");

      const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider });
      await transport.finishAuth(code);
      const access = provider.tokensSaved?.access_token ?? "";
      expect(decodeJwt(access)).toMatchObject({ iss: system.origin, aud: mcpUrl.href, client_id: documentUrl });
      const client = new Client({ name: "mono-auth-mcp-cimd", version: "1.0.0" });
      await client.connect(transport);
      try {
        const listed = await client.callTool({ name: "list_documents", arguments: {} });
        expect(listed.isError ?? false).toBe(false);
      } finally {
        await client.close();
      }
    } finally {
      await person.close();
    }
  });
});
