// The operator console (/console) in Chromium on the one origin: an org
// admin (the owner of the org sign-up made) manages its own org — clients
// with the secret shown once, an invite, policies (validate, save, publish,
// roll back), revocations (live), the audit trail with chain verification —
// and is refused everything else; a platform operator sees every org, the
// counts, and the signing keys. Screenshots go to test/artifacts/ (ignored).
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { decodeJwt } from "jose";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { launchChromium } from "../support/chromium.ts";
import { clientRow, insertStatements } from "../support/list-rows.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

const ARTIFACTS = resolve(import.meta.dirname, "../artifacts");

let system: RunningSystem;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  system = await startSystem();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await system?.close();
});

const password = "a long enough passphrase";

/** A format 2 policy (docs/policy.md) and the test case that shows what it decides. */
const POLICY = {
  format: 2,
  rules: [
    {
      id: "members-read",
      effect: "allow",
      resource: "documents",
      actions: ["read"],
      when: '"documents:read" in subject.scope',
      filter: { org_id: { attr: "subject.org_id" } },
    },
  ],
};
const POLICY_TESTS = [
  {
    name: "members read their org's documents",
    request: {
      subject: { id: "user-1", org_id: "org-1", roles: ["member"], scope: ["documents:read"] },
      resource: { type: "documents" },
      action: "read",
      context: { method: "GET", path: "/api/documents" },
    },
    expect: "allow",
    matched: ["members-read"],
    filter: { org_id: "org-1" },
  },
];

/** A new person through the sign-up page, in a browser context of their own (they own a new org). */
async function signUp(name: string): Promise<{ page: Page; email: string }> {
  const page = await (await browser.newContext()).newPage();
  const email = `${name.toLowerCase()}-${crypto.randomUUID().slice(0, 8)}@example.com`;
  await page.goto(`${system.origin}${ENDPOINT.signUp}`);
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL(`${system.origin}${ENDPOINT.app}`);
  return { page, email };
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: resolve(ARTIFACTS, `console-${name}.png`), fullPage: true });
}

describe("console", () => {
  let owner: Page;
  let orgUrl: string;

  it("sends a person without a session to sign in", async () => {
    const page = await browser.newPage();
    await page.goto(`${system.origin}${ENDPOINT.console}`);
    expect(new URL(page.url()).pathname).toBe(ENDPOINT.signIn);
    await page.close();
  });

  it("an org owner sees their org only, creates a client and sees its secret once", async () => {
    ({ page: owner } = await signUp("Ada"));
    await owner.goto(`${system.origin}${ENDPOINT.console}`);
    await expect.poll(() => owner.getByTestId("console-who").textContent()).toContain("organization admin");
    await expect.poll(() => owner.getByTestId("org-row").count()).toBe(1);
    await owner.getByTestId("org-row").getByRole("link").click();
    await owner.waitForURL(/\/console\/orgs\/[^/]+$/);
    orgUrl = owner.url();
    expect(new URL(orgUrl).pathname).toMatch(/^\/console\/orgs\/[^/]+$/);

    await owner.getByLabel("Name", { exact: true }).fill("ci-runner");
    await owner.getByRole("button", { name: "Create client" }).click();
    const secret = (await owner.getByTestId("client-secret").textContent()) ?? "";
    expect(secret.length).toBeGreaterThan(20);
    await shot(owner, "client-created");
    // Shown once: the org page, loaded again, has the client but not its secret.
    await owner.goto(orgUrl);
    await expect.poll(() => owner.getByTestId("client-row").count()).toBe(1);
    expect(await owner.content()).not.toContain(secret);

    await owner.getByRole("button", { name: "Rotate secret" }).click();
    const rotated = (await owner.getByTestId("client-secret").textContent()) ?? "";
    expect(rotated).not.toBe(secret);
    await owner.getByRole("button", { name: "Disable" }).click();
    await expect.poll(() => owner.getByTestId("client-status").textContent()).toBe("disabled");

    await owner.getByRole("button", { name: "Create invite" }).click();
    const unbound = (await owner.getByTestId("invite").textContent()) ?? "";
    expect(unbound).toMatch(/^ey[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(decodeJwt(unbound).dpop_bound_access_tokens).toBe(false);
    await owner.getByLabel("Bind the host's tokens to its key (DPoP)").check();
    await owner.getByRole("button", { name: "Create invite" }).click();
    // The page still on screen shows the first invite: textContent does not wait for the next page.
    await expect.poll(() => owner.getByTestId("invite").textContent()).not.toBe(unbound);
    const bound = (await owner.getByTestId("invite").textContent()) ?? "";
    expect(decodeJwt(bound).dpop_bound_access_tokens).toBe(true);
    await expect.poll(() => owner.getByTestId("member-row").count()).toBe(1);
    await shot(owner, "org");
  });

  it("registers an MCP server and shows the org's access requests and grants", async () => {
    await owner.goto(`${orgUrl}/mcp`);
    // The built-in demo server is every org's.
    await expect.poll(() => owner.getByTestId("mcp-server-row").first().textContent()).toContain("demo");
    await owner.getByLabel("Server name").fill("notes");
    await owner.getByLabel("Upstream URL").fill("https://notes.example.com/mcp");
    await owner.getByLabel("Tools (name or name:sensitive)").fill("read_notes purge_notes:sensitive");
    await owner.getByRole("button", { name: "Register server" }).click();
    await expect.poll(() => owner.getByTestId("notice").textContent()).toContain("/mcp/notes");
    await expect
      .poll(() => owner.getByTestId("mcp-server-row").allTextContents())
      .toContainEqual(expect.stringContaining("purge_notes (sensitive)"));
    await expect.poll(() => owner.getByTestId("access-requests").isVisible()).toBe(true);
    await expect.poll(() => owner.getByTestId("mcp-grants").isVisible()).toBe(true);
    await shot(owner, "mcp");
  });

  it("validates, saves, publishes and rolls back a policy", async () => {
    await owner.goto(`${orgUrl}/policies`);
    await expect.poll(() => owner.getByTestId("current-version").textContent()).toBe("the default policy");
    const editor = owner.getByLabel("Policy document (JSON)");
    await editor.fill('{"rules": "not a list"}');
    await owner.getByRole("button", { name: "Validate" }).click();
    await expect.poll(() => owner.getByTestId("problem").textContent()).toContain("invalid_body");
    // A policy with the test that shows what it decides: save it twice, publish both in turn, roll back.
    for (let i = 0; i < 2; i++) {
      const document = i === 0 ? POLICY : { ...POLICY, rules: [{ description: "members read", ...POLICY.rules[0] }] };
      await owner.getByLabel("Policy document (JSON)").fill(JSON.stringify(document));
      await owner.getByLabel("Test cases (JSON array; publishing runs them)").fill(JSON.stringify(POLICY_TESTS));
      await owner.getByRole("button", { name: "Validate" }).click();
      await expect.poll(() => owner.getByTestId("notice").textContent()).toBe("Valid: 1 rule(s), 1 test(s).");
      await owner.getByRole("button", { name: "Save as a draft" }).click();
      await expect.poll(() => owner.getByTestId("notice").textContent()).toBe(`Saved as draft version ${i + 1}.`);
    }
    await owner.getByRole("button", { name: "Publish" }).last().click();
    await expect.poll(() => owner.getByTestId("current-version").textContent()).toBe("version 1");
    await owner.getByRole("button", { name: "Publish" }).click();
    await expect.poll(() => owner.getByTestId("current-version").textContent()).toBe("version 2");
    // Each version's own tests run on request.
    await owner.getByRole("button", { name: "Test" }).first().click();
    await expect.poll(() => owner.getByTestId("notice").textContent()).toBe("Version 2: 1 of 1 test(s) passed.");
    // What the current policy decides for a request.
    await owner.getByRole("button", { name: "What if" }).click();
    await expect.poll(() => owner.getByTestId("what-if-decision").textContent()).toContain('"effect": "allow"');
    // A rollback shows what it changes first: version 2's description goes.
    await owner.getByTestId("rollback-link").click();
    await expect
      .poll(() => owner.locator('[data-kind="removed"]').allTextContents())
      .toEqual([expect.stringContaining('"description": "members read"')]);
    await expect.poll(() => owner.locator('[data-kind="added"]').count()).toBe(0);
    await shot(owner, "rollback-diff");
    await owner.getByRole("button", { name: "Roll back" }).click();
    await expect.poll(() => owner.getByTestId("current-version").textContent()).toBe("version 1");
    await shot(owner, "policies");
  });

  it("records a revocation, and the open page receives the next one live", async () => {
    await owner.goto(`${orgUrl}/revocations`);
    await owner.getByLabel("Kind").selectOption("subject");
    await owner.getByLabel("Value").fill("user-to-cut-off");
    await owner.getByRole("button", { name: "Revoke" }).click();
    await expect.poll(() => owner.getByTestId("notice").textContent()).toMatch(/^Revoked \(seq \d+\)\.$/);
    await expect.poll(() => owner.getByTestId("revocation-row").first().textContent()).toContain("user-to-cut-off");

    // A second tab revokes; the first one, left open, shows it without a reload.
    await owner.waitForSelector('[data-testid="live-status"][data-state="live"]');
    const before = await owner.getByTestId("revocation-row").count();
    const other = await owner.context().newPage();
    await other.goto(`${orgUrl}/revocations`);
    await other.getByLabel("Kind").selectOption("jti");
    await other.getByLabel("Value").fill("jti-seen-live");
    await other.getByRole("button", { name: "Revoke" }).click();
    await expect.poll(() => owner.getByTestId("revocation-row").count()).toBe(before + 1);
    await expect.poll(() => owner.getByTestId("revocation-row").first().textContent()).toContain("jti-seen-live");
    await other.close();
    await shot(owner, "revocations");
  });

  it("shows the org's audit trail and verifies its chain", async () => {
    const org = decodeURIComponent(new URL(orgUrl).pathname.split("/").at(-1) ?? "");
    await owner.goto(`${system.origin}${ENDPOINT.console}/audit?org=${encodeURIComponent(org)}`);
    await expect
      .poll(async () => {
        await owner.reload();
        return owner.getByTestId("audit-row").count();
      })
      .toBeGreaterThan(0);
    await owner.getByRole("button", { name: "Verify the chain" }).click();
    await expect.poll(() => owner.getByTestId("verify-result").textContent()).toMatch(/^Chain intact: \d+ row/);
    await shot(owner, "audit");
  });

  it("refuses an org admin the platform's pages and other orgs", async () => {
    await owner.goto(`${system.origin}${ENDPOINT.console}/keys`);
    await expect.poll(() => owner.getByTestId("problem").textContent()).toContain("(forbidden)");
    const { page: stranger } = await signUp("Eve");
    await stranger.goto(orgUrl);
    await expect.poll(() => stranger.getByTestId("problem").first().textContent()).toContain("(forbidden)");
    await stranger.context().close();
  });

  it("a platform operator sees every org, the counts and the signing keys", async () => {
    const { page: operator, email } = await signUp("Grace");
    await system.execMain(
      `INSERT INTO platform_operator (user_id, email, created_at) SELECT id, email, ? FROM "user" WHERE email = ?`,
      Date.now(),
      email,
    );
    await operator.goto(`${system.origin}${ENDPOINT.console}`);
    await expect.poll(() => operator.getByTestId("console-who").textContent()).toContain("platform operator");
    expect(await operator.getByTestId("org-row").count()).toBeGreaterThanOrEqual(3);
    expect(Number(await operator.getByTestId("count-revocations").textContent())).toBeGreaterThanOrEqual(2);
    await shot(operator, "overview");
    await operator.getByRole("link", { name: "Keys" }).click();
    // allTextContents does not wait: read the keys page, not the overview still on screen.
    await operator.waitForURL(`${system.origin}${ENDPOINT.console}/keys`);
    await expect.poll(() => operator.getByTestId("key-status").allTextContents()).toContain("current");
    await shot(operator, "keys");
    // A person is banned from the People page: their open session is gone at once.
    const { page: mallory, email: malloryEmail } = await signUp("Mallory");
    await operator.getByRole("link", { name: "People" }).click();
    await operator.getByLabel("Email").fill(malloryEmail);
    await operator.getByRole("button", { name: "Find" }).click();
    await operator.getByRole("button", { name: "Ban", exact: true }).click();
    await expect.poll(() => operator.getByTestId("notice").textContent()).toMatch(/^Banned .*1 org\(s\), 1 session/);
    const row = operator.getByTestId("user-row").filter({ hasText: malloryEmail });
    await expect.poll(() => row.getByTestId("user-banned").textContent()).not.toBe("-");
    await shot(operator, "people");
    await mallory.goto(`${system.origin}${ENDPOINT.app}`);
    expect(new URL(mallory.url()).pathname).toBe(ENDPOINT.signIn);
    await mallory.context().close();
    await operator.getByRole("link", { name: "Audit" }).click();
    await operator.getByRole("button", { name: "Verify the chain" }).click();
    await expect.poll(() => operator.getByTestId("verify-result").textContent()).toMatch(/^Chain intact/);
    await operator.context().close();
  });

  it("shows an org's clients a page at a time: one render reads one page, More rows reads on", async () => {
    const { page } = await signUp("Lin");
    await page.goto(`${system.origin}${ENDPOINT.console}`);
    await page.getByTestId("org-row").getByRole("link").click();
    await page.waitForURL(/\/console\/orgs\/[^/]+$/);
    const url = page.url();
    const orgId = decodeURIComponent(new URL(url).pathname.split("/").pop() as string);
    // More clients than one console page (CONSOLE_PAGE_ROWS, 100), all in one millisecond: the id orders them.
    const ids = Array.from({ length: 130 }, (_, i) => `lin_client_${String(i).padStart(3, "0")}`);
    for (const { sql, params } of insertStatements(
      "oauth_client",
      ids.map((id) => clientRow(orgId, `${id}_${orgId}`, Date.UTC(2026, 0, 1))),
    )) {
      await system.execMain(sql, ...params);
    }
    const shown = async () =>
      (await page.getByTestId("client-row").locator("code").allTextContents()).map((id) =>
        id.split("_").slice(0, 3).join("_"),
      );

    await page.goto(url);
    await expect.poll(() => page.getByTestId("client-row").count()).toBe(100);
    expect(await shown()).toEqual(ids.slice(0, 100));
    await page.getByTestId("clients-pages-next").click();
    await page.waitForURL(/\?clients_cursor=[A-Za-z0-9_-]+$/);
    await expect.poll(() => page.getByTestId("client-row").count()).toBe(30);
    expect(await shown()).toEqual(ids.slice(100));
    expect(await page.getByTestId("clients-pages-next").count()).toBe(0);
    await shot(page, "clients-page-2");
    await page.getByRole("link", { name: "First rows" }).click();
    await page.waitForURL(url);
    await expect.poll(() => page.getByTestId("client-row").count()).toBe(100);
    await page.context().close();
  });
});
