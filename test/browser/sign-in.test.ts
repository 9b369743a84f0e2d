// The newcomer's path in a real browser, on the one origin: sign up, see the
// protected documents through the gateway, sign out, sign back in.
import { resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { launchChromium } from "../support/chromium.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

let system: RunningSystem;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  system = await startSystem();
  browser = await launchChromium();
  page = await browser.newPage();
});
afterAll(async () => {
  await browser?.close();
  await system?.close();
});

/** A screenshot for a person to look at (test/artifacts/, git-ignored). */
function snap(name: string): Promise<unknown> {
  return page
    .screenshot({ path: resolve(import.meta.dirname, `../artifacts/${name}.png`), fullPage: true })
    .catch(() => undefined);
}

const email = `grace-${crypto.randomUUID().slice(0, 8)}@example.com`;
const password = "a long enough passphrase";

async function loadDocuments(): Promise<string[]> {
  await page.getByRole("button", { name: "Load my documents" }).click();
  await page.getByTestId("document-row").first().waitFor();
  return page.getByTestId("document-row").locator("td:nth-child(2)").allTextContents();
}

it("signs up, reads the documents the policy allows, signs out and back in", async () => {
  await page.goto(`${system.origin}/sign-up`);
  await page.getByLabel("Name").fill("Grace Hopper");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL(`${system.origin}/app`);
  await expect.poll(() => page.getByTestId("user-email").textContent()).toBe(email);

  // She owns her new organization: public, internal and confidential, never restricted.
  expect((await loadDocuments()).sort()).toEqual(["confidential", "internal", "public"]);
  await expect.poll(() => page.getByTestId("status").textContent()).toContain("3 document(s)");
  await snap("app");

  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(`${system.origin}/sign-in`);

  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("wrong password entirely");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect
    .poll(() => page.getByTestId("form-error").textContent())
    .toBe("That email and password do not match an account.");

  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.waitForURL(`${system.origin}/app`);
  expect((await loadDocuments()).sort()).toEqual(["confidential", "internal", "public"]);
});

it("runs the page under its CSP with no violations", async () => {
  const violations: string[] = [];
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  await page.goto(`${system.origin}/app`);
  await loadDocuments();
  expect(violations).toEqual([]);
});

it("gives the page's scripts no raw session token to read", async () => {
  await page.goto(`${system.origin}/app`);
  const seen = await page.evaluate(async () => {
    const session = (await (await fetch("/api/auth/get-session")).json()) as { session: Record<string, unknown> };
    return { fields: Object.keys(session.session), cookie: document.cookie };
  });
  expect(seen.fields).toContain("id");
  expect(seen.fields).not.toContain("token");
  // The session cookie is HttpOnly.
  expect(seen.cookie).not.toContain("session_token");
});

it("an application's sign-out request without an ID token asks in our look, then signs her out", async () => {
  const violations: string[] = [];
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  await page.goto(`${system.origin}/api/auth/oauth2/end-session`);
  await expect.poll(() => page.getByRole("heading", { level: 1 }).textContent()).toBe("Sign out?");
  await snap("end-session-confirm");
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect.poll(() => page.getByTestId("signed-out").isVisible(), { timeout: 10_000 }).toBe(true);
  await snap("end-session-signed-out");
  await page.goto(`${system.origin}/app`);
  await page.waitForURL(`${system.origin}/sign-in`);
  expect(violations).toEqual([]);
});
