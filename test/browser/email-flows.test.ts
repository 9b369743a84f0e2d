// The email flows in a real browser, against the whole system with email
// verification required (production's default): sign up → read the dev
// mailbox → confirm → sign in; forgot password → mailbox → reset → sign in.
// Screenshots of each page land in test/artifacts/ (git-ignored).
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { launchChromium } from "../support/chromium.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

let system: RunningSystem;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  system = await startSystem({ authnVars: { REQUIRE_EMAIL_VERIFICATION: "true" } });
  browser = await launchChromium();
  page = await browser.newPage();
});
afterAll(async () => {
  await browser?.close();
  await system?.close();
});

const email = `mail-${crypto.randomUUID().slice(0, 8)}@example.com`;
const password = "a long enough passphrase";
const newPassword = "an even longer new passphrase";

async function shot(name: string) {
  await page.screenshot({ path: `test/artifacts/${name}.png`, fullPage: true }).catch(() => undefined);
}

/** Waits for a mail of that kind (mail is sent after the answer), then opens the mailbox page and its link. */
async function openLinkFromMailbox(kind: string, count: number) {
  await expect
    .poll(async () => {
      const response = await system.fetch(`/dev/mailbox?format=json&to=${encodeURIComponent(email)}`);
      const { messages } = (await response.json()) as { messages: { kind: string }[] };
      return messages.filter((m) => m.kind === kind).length;
    })
    .toBeGreaterThanOrEqual(count);
  await page.goto(`${system.origin}/dev/mailbox?to=${encodeURIComponent(email)}`);
  await shot(`email-mailbox-${kind}`);
  await page.locator(`[data-testid="mail"][data-kind="${kind}"]`).first().getByTestId("mail-link").click();
}

it("signs up, is refused until the address is confirmed, confirms it from the mailbox, signs in", async () => {
  await page.goto(`${system.origin}/sign-up`);
  await page.getByLabel("Name").fill("Mae Jemison");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL(`${system.origin}/verify-email?sent=1`);
  await expect.poll(() => page.getByTestId("notice").textContent()).toContain("We have sent you a link");
  await shot("email-check-inbox");

  await page.goto(`${system.origin}/sign-in`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect
    .poll(() => page.getByTestId("form-error").textContent())
    .toBe("Confirm your email address first: we have sent you a new link.");
  await shot("email-sign-in-unverified");

  await openLinkFromMailbox("verify-email", 1);
  await page.waitForURL(/\/verify-email\?token=/);
  await shot("email-verify-confirm");
  await page.getByRole("button", { name: "Confirm my email address" }).click();
  await page.getByTestId("verified").waitFor();
  await shot("email-verified");

  await page.getByRole("link", { name: "Sign in", exact: true }).click();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.waitForURL(`${system.origin}/app`);
  await expect.poll(() => page.getByTestId("user-email").textContent()).toBe(email);
  await expect.poll(() => page.getByTestId("org-name").textContent()).toBe("Mae Jemison's organization");
  await shot("email-app");
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(`${system.origin}/sign-in`);
});

it("resets a forgotten password from the mailbox, then signs in with the new one only", async () => {
  await page.goto(`${system.origin}/sign-in`);
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await page.waitForURL(`${system.origin}/forgot-password`);
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Email me a reset link" }).click();
  await expect.poll(() => page.getByTestId("notice").textContent()).toContain("If an account uses that address");
  await shot("email-forgot-sent");

  await openLinkFromMailbox("reset-password", 1);
  await page.waitForURL(/\/reset-password\?token=/);
  await page.getByLabel("New password").fill("password123");
  await page.getByRole("button", { name: "Set my new password" }).click();
  await expect
    .poll(() => page.getByTestId("form-error").textContent())
    .toBe("That password is one of the most common ones. Choose another.");
  await page.getByLabel("New password").fill(newPassword);
  await shot("email-reset-form");
  await page.getByRole("button", { name: "Set my new password" }).click();
  await page.getByTestId("reset-done").waitFor();
  await shot("email-reset-done");

  await page.getByRole("link", { name: "Sign in", exact: true }).click();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect
    .poll(() => page.getByTestId("form-error").textContent())
    .toBe("That email and password do not match an account.");
  await page.getByLabel("Password").fill(newPassword);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.waitForURL(`${system.origin}/app`);
});

it("keeps exactly the mail this person was sent in the dev mailbox, newest first, as JSON", async () => {
  // The running system is local (loopback issuer, dev-mailbox transport), so
  // the mailbox is served here; the refusal elsewhere is proven in
  // test/authn/dev-mailbox.test.ts. Here: it is JSON, newest first, and holds
  // exactly the mails this person was sent.
  const response = await system.fetch(`/dev/mailbox?format=json&to=${encodeURIComponent(email)}`);
  expect(response.status).toBe(200);
  const { messages } = (await response.json()) as { messages: { kind: string }[] };
  expect(messages.map((m) => m.kind).sort()).toEqual(["reset-password", "verify-email", "verify-email"]);
});
