// The console's saved connections page (/console/orgs/{org}/vault) in
// Chromium: an org admin configures a provider (its client secret written
// once and never shown), connects the org's own account through the real
// flow (a third-party OAuth provider on 127.0.0.1,
// test/support/vault-provider-server.ts), names the provider as an MCP
// server's saved connection on the MCP page, sees the connection's metadata
// only, binds an agent client to it, unbinds it and deletes the connection;
// then confirms an operator's connect link on its confirmation page.
// Screenshots go to test/artifacts/ (ignored).
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { VAULT_PATH } from "../../shared/contracts/vault.ts";
import { launchChromium } from "../support/chromium.ts";
import { operatorCli } from "../support/operator-cli.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";
import { type ProviderServer, startProviderServer } from "../support/vault-provider-server.ts";

const ARTIFACTS = resolve(import.meta.dirname, "../artifacts");
// What the test provider (test/support/runtime/vault-upstream) expects of its one client.
const CLIENT_SECRET = "vault-test-secret";
// The MCP server's upstream and the provider's resource: the admin API refuses a saved
// connection whose provider serves another origin (RFC 8707 §2), as the gateway does.
const CRM_UPSTREAM = "https://crm.example.com/mcp";

let system: RunningSystem;
let provider: ProviderServer;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  [system, provider] = await Promise.all([startSystem(), startProviderServer()]);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await Promise.all([system?.close(), provider?.close()]);
});

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: resolve(ARTIFACTS, `console-${name}.png`), fullPage: true });
}

describe("console: saved connections", () => {
  it("configures a provider, connects the org's account, binds and unbinds an agent, deletes the connection", async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${system.origin}${ENDPOINT.signUp}`);
    await page.getByLabel("Name").fill("Vera");
    await page.getByLabel("Email").fill(`vera-${crypto.randomUUID().slice(0, 8)}@example.com`);
    await page.getByLabel("Password").fill("a long enough passphrase");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.waitForURL(`${system.origin}${ENDPOINT.app}`);
    await page.goto(`${system.origin}${ENDPOINT.console}`);
    await page.getByTestId("org-row").getByRole("link").click();
    await page.waitForURL(/\/console\/orgs\/[^/]+$/);
    const orgUrl = page.url();

    // An agent client of the org, to bind later.
    await page.getByLabel("Name", { exact: true }).fill("vault-agent");
    await page.getByLabel("Type").selectOption("agent");
    await page.getByRole("button", { name: "Create client" }).click();
    const agentId = ((await page.getByTestId("client-row").first().locator("code").textContent()) ?? "").trim();
    expect(agentId).not.toBe("");

    await page.getByRole("link", { name: "Saved connections" }).click();
    await page.waitForURL(`${orgUrl}/vault`);
    await expect.poll(() => page.getByTestId("vault-provider-row").count()).toBe(0);
    await page.getByLabel("Provider name").fill("upstream");
    await page.getByLabel("Authorization endpoint").fill(`${provider.origin}/authorize`);
    await page.getByLabel("Token endpoint").fill(`${provider.origin}/token`);
    await page.getByLabel("Provider client id").fill("vault-test-client");
    await page.getByLabel("Provider client secret (never shown again)").fill(CLIENT_SECRET);
    await page.getByLabel("Scopes").fill("read");
    await page.getByLabel("Resource (what it serves)").fill(CRM_UPSTREAM);
    await page.getByRole("button", { name: "Add provider" }).click();
    await expect
      .poll(() => page.getByTestId("notice").textContent())
      .toBe(`Added provider upstream for ${CRM_UPSTREAM}.`);
    const row = page.getByTestId("vault-provider-row");
    await expect.poll(() => row.count()).toBe(1);
    await expect.poll(() => row.textContent()).toContain("vault-test-client");
    await expect.poll(() => row.textContent()).toContain("set");
    expect(await page.content()).not.toContain(CLIENT_SECRET);
    await shot(page, "vault-provider");

    // An external MCP server served with this provider's saved token (the MCP page names it).
    await page.goto(`${orgUrl}/mcp`);
    await page.getByLabel("Server name").fill("crm");
    await page.getByLabel("Upstream URL").fill(CRM_UPSTREAM);
    await page.getByLabel("Tools (name or name:sensitive)").fill("find_customer");
    await page.getByLabel("Saved connection (vault provider, optional)").fill("upstream");
    await page.getByRole("button", { name: "Register server" }).click();
    await expect.poll(() => page.getByTestId("notice").textContent()).toContain("/mcp/crm");
    // Stored as the provider's id (vpr_…), resolved from the name in the org.
    await expect
      .poll(() =>
        page.getByTestId("mcp-server-row").filter({ hasText: "find_customer" }).locator("code").last().textContent(),
      )
      .toMatch(/^vpr_[0-9a-f]{32}$/);
    await page.goto(`${orgUrl}/vault`);

    // The org's connect flow: a link to the provider (PKCE S256), which approves and sends the browser to our callback.
    await page.getByRole("button", { name: "Connect for the org" }).click();
    const authorization = new URL((await page.getByTestId("connect-link").getAttribute("href")) ?? "");
    expect(authorization.origin).toBe(provider.origin);
    expect(authorization.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authorization.searchParams.get("redirect_uri")).toBe(`${system.origin}${VAULT_PATH.callback}`);
    await page.getByTestId("connect-link").click();
    await page.waitForURL((url) => url.pathname === VAULT_PATH.callback);
    await expect.poll(() => page.locator("body").textContent()).toContain('"connected":true');

    // Metadata only: owner, provider, scopes, expiry; never a token.
    await page.goto(`${orgUrl}/vault`);
    const connection = page.getByTestId("vault-connection-row");
    await expect.poll(() => connection.count()).toBe(1);
    const text = (await connection.textContent()) ?? "";
    expect(text).toContain("the organization");
    expect(text).toContain("upstream");
    expect(text).toContain("read");
    expect(await page.content()).not.toMatch(/up-(at|rt)-/);

    await connection.getByLabel("Agent client id").fill(agentId);
    await connection.getByRole("button", { name: "Bind", exact: true }).click();
    await expect.poll(() => page.getByTestId("notice").textContent()).toBe(`Agent ${agentId} may use the connection.`);
    await expect.poll(() => page.getByTestId("vault-connection-row").textContent()).toContain(agentId);
    await shot(page, "vault-connections");

    // A client that is not the org's is refused with the admin API's code.
    await page.getByTestId("vault-connection-row").getByLabel("Agent client id").fill("no-such-client");
    await page.getByTestId("vault-connection-row").getByRole("button", { name: "Bind", exact: true }).click();
    await expect.poll(() => page.getByTestId("problem").textContent()).toContain("(not_found)");

    await page.getByTestId("vault-connection-row").getByRole("button", { name: "Unbind" }).click();
    await expect
      .poll(() => page.getByTestId("notice").textContent())
      .toBe(`Agent ${agentId} no longer uses the connection.`);
    await page.getByTestId("vault-connection-row").getByRole("button", { name: "Delete" }).click();
    await expect.poll(() => page.getByTestId("notice").textContent()).toBe("Saved connection deleted.");
    await expect.poll(() => page.getByTestId("vault-connection-row").count()).toBe(0);

    // An operator's connect link (`mono-auth vault provider connect`): our confirmation page, not the provider.
    // Confirming posts to our origin and is redirected to the provider, which the page's CSP form-action allows.
    const orgId = new URL(orgUrl).pathname.split("/").at(-1) ?? "";
    const operator = await operatorCli(system, "console-vault");
    const { providers } = await operator.json<{ providers: { id: string }[] }>(
      ...["vault", "provider", "list", "--org", orgId],
    );
    const providerId = providers[0]?.id ?? "";
    const { confirmation_url } = await operator.json<{ confirmation_url: string }>(
      ...["vault", "provider", "connect", "--org", orgId, "--id", providerId],
    );
    await page.goto(confirmation_url);
    await expect.poll(() => page.getByTestId("vault-confirm-effect").textContent()).toContain("the whole organization");
    await shot(page, "vault-confirm");
    await page.getByRole("button", { name: "Confirm and continue to upstream" }).click();
    await page.waitForURL((url) => url.pathname === VAULT_PATH.callback);
    await expect.poll(() => page.locator("body").textContent()).toContain('"connected":true');
    // Spent: the same link again is its refusal page.
    const again = await page.goto(confirmation_url);
    expect(again?.status()).toBe(400);
    await expect.poll(() => page.getByTestId("problem").textContent()).toContain("(invalid_connect_link)");
    await page.context().close();
  });
});
