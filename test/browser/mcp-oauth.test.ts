// The MCP authorization flow a person goes through, with the official MCP
// TypeScript SDK unmodified as the MCP client: its Client connects to
// /mcp/demo, gets 401 with the RFC 9728 resource metadata, discovers our
// issuer (RFC 8414), uses its pre-registered client, and sends the person to
// the authorization endpoint with PKCE S256 and RFC 8707 `resource`; the
// person signs up, sees the consent page and allows it in a real Chromium;
// the SDK's transport finishes the code exchange (finishAuth) and the client
// lists tools and calls the harmless one. The token's audience is exactly
// /mcp/demo. Then the same with no registration at all: the SDK's
// `clientMetadataUrl`, a Client ID Metadata Document the authn Worker
// fetches from its https host (test/support/runtime/cimd-host, reached
// through CIMD_OUTBOUND in this system: no network). Screenshots go to
// test/artifacts/ (git-ignored).
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import type { OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from "@modelcontextprotocol/sdk/shared/auth.js";
import { decodeJwt } from "jose";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { launchChromium } from "../support/chromium.ts";
import { interopOperator } from "../support/interop.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

const ARTIFACTS = resolve(import.meta.dirname, "../artifacts");
/** The MCP client's callback: Chromium's request there is answered by the test (page.route). */
const REDIRECT_URI = "https://mcp-client.example.test/callback";

let system: RunningSystem;
let browser: Browser;
let page: Page;
let clientId: string;
let mcpUrl: URL;

/**
 * The MCP client application's side of OAuthClientProvider: where it keeps
 * what the SDK hands it, and how it opens the authorization URL (here: in
 * Chromium, recorded so the test can drive the page).
 */
class BrowserClientProvider implements OAuthClientProvider {
  tokensSaved?: OAuthTokens;
  verifier = "";
  authorizationUrl?: URL;
  get redirectUrl() {
    return REDIRECT_URI;
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: "Example MCP client",
      redirect_uris: [REDIRECT_URI],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  clientInformation(): OAuthClientInformationMixed {
    return { client_id: clientId };
  }
  tokens() {
    return this.tokensSaved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.tokensSaved = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  system = await startSystem({ cimdHost: true });
  mcpUrl = new URL("/mcp/demo", system.origin);
  const operator = await interopOperator(system);
  // Pre-registered by the operator (docs/endpoints.md, browser clients): a
  // public client (PKCE, no secret) that may ask tokens for the demo MCP server.
  const registered = await operator.admin("POST", "/oidc-clients", {
    client_name: "Example MCP client",
    redirect_uris: [REDIRECT_URI],
    type: "public",
    scope: ["openid", "documents:read"],
    resources: [mcpUrl.href],
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

describe("MCP SDK auth(): authorization code + PKCE with consent in Chromium", () => {
  it("onboards, gets a token for exactly /mcp/demo, lists tools and calls the harmless one", async () => {
    const provider = new BrowserClientProvider();

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
    await page.goto(`${system.origin}${ENDPOINT.signUp}`);
    await page.getByLabel("Name").fill("Grace Hopper");
    await page.getByLabel("Email").fill(`grace-${crypto.randomUUID().slice(0, 8)}@example.com`);
    await page.getByLabel("Password").fill("a long enough passphrase");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.waitForURL(`${system.origin}${ENDPOINT.app}`);
    await page.goto(authorize.href);
    await page.waitForURL(`${system.origin}${ENDPOINT.consent}?**`);
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe(
      "Allow Example MCP client to access your account?",
    );
    await page.screenshot({ path: `${ARTIFACTS}/mcp-oauth-consent.png`, fullPage: true });
    await page.getByTestId("consent-approve").click();
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
    const verifier = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
    const challenge = Buffer.from(
      new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))),
    ).toString("base64url");
    const authorize = (resource: string) => {
      const url = new URL(`${system.origin}${ENDPOINT.authApi}/oauth2/authorize`);
      for (const [name, value] of Object.entries({
        response_type: "code",
        client_id: clientId,
        redirect_uri: REDIRECT_URI,
        scope: "documents:read",
        state: "target",
        code_challenge: challenge,
        code_challenge_method: "S256",
        resource,
      })) {
        url.searchParams.set(name, value);
      }
      return url.href;
    };
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
    const token = await system.fetch(ENDPOINT.token, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        client_id: clientId,
        code,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
        resource: elsewhere,
      }),
    });
    const body = (await token.json()) as { error?: string };
    expect({ status: token.status, error: body.error }).toEqual({ status: 400, error: "invalid_target" });
  });

  it("onboards by Client ID Metadata Document (the SDK's clientMetadataUrl): the document's URL is the client_id, and the token is for /mcp/demo", async () => {
    const documentUrl = "https://client.example.test/clients/good";
    // The document's only redirect URI (test/support/runtime/cimd-host/index.ts).
    const callback = "https://client.example.test/callback";
    const provider = new (class extends BrowserClientProvider {
      saved?: OAuthClientInformationMixed;
      clientMetadataUrl = documentUrl;
      override get redirectUrl() {
        return callback;
      }
      override get clientMetadata(): OAuthClientMetadata {
        return { ...super.clientMetadata, redirect_uris: [callback] };
      }
      override clientInformation() {
        return this.saved as OAuthClientInformationMixed;
      }
      saveClientInformation(info: OAuthClientInformationMixed) {
        this.saved = info;
      }
    })();
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
      await person.goto(`${system.origin}${ENDPOINT.signUp}`);
      await person.getByLabel("Name").fill("Ada Lovelace");
      await person.getByLabel("Email").fill(`ada-${crypto.randomUUID().slice(0, 8)}@example.com`);
      await person.getByLabel("Password").fill("a long enough passphrase");
      await person.getByRole("button", { name: "Create account" }).click();
      await person.waitForURL(`${system.origin}${ENDPOINT.app}`);
      await person.goto(authorize.href);
      await person.waitForURL(`${system.origin}${ENDPOINT.consent}?**`);
      await expect(person.getByRole("heading", { level: 1 }).textContent()).resolves.toBe(
        "Allow Example MCP client to access your account?",
      );
      await person.getByTestId("consent-approve").click();
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
