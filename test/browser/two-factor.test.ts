// TOTP in a real browser on the one origin: sign up, turn on two-factor
// authentication on the account page (the code computed here, RFC 6238),
// sign out, and sign back in through the challenge.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { screenshot, signInWithPassword, signOut, signUpThroughPages } from "../support/browser-account.ts";
import { launchChromium } from "../support/chromium.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";
import { nextTotp, totp } from "../support/totp.ts";

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

const email = `ada-${crypto.randomUUID().slice(0, 8)}@example.com`;
const password = "a long enough passphrase";

it("turns on TOTP, then signs in with password and code", async () => {
  await signUpThroughPages(page, system.origin, "Ada Lovelace", email, password);

  await page.goto(`${system.origin}/account`);
  await expect.poll(() => page.getByTestId("two-factor-state").textContent()).toBe("Off.");
  await screenshot(page, "account");
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Set up two-factor authentication" }).click();
  const secret = (await page.getByTestId("totp-secret").textContent()) ?? "";
  expect(secret).toMatch(/^[A-Z2-7]+$/);
  await expect.poll(() => page.getByTestId("backup-codes").locator("li").count()).toBe(10);
  await screenshot(page, "two-factor-setup");
  await page.getByLabel("Authentication code").fill(await totp(secret));
  await page.getByRole("button", { name: "Turn on two-factor authentication" }).click();
  await page.waitForURL(`${system.origin}/account?done=two-factor-on`);
  await expect.poll(() => page.getByTestId("notice").textContent()).toBe("Two-factor authentication is on.");

  await signOut(page, system.origin);
  await signInWithPassword(page, system.origin, email, password);
  await page.waitForURL(`${system.origin}/two-factor`);
  await screenshot(page, "two-factor-challenge");

  await page.getByLabel("Authentication code").fill("000000");
  await page.getByRole("button", { name: "Verify" }).click();
  await expect
    .poll(() => page.getByTestId("form-error").textContent())
    .toBe("That code is not right. Check the time on your device and try again.");
  // Not the code that turned 2FA on: each code is accepted once (RFC 6238 §5.2).
  await page.getByLabel("Authentication code").fill(await nextTotp(secret));
  await page.getByRole("button", { name: "Verify" }).click();
  await page.waitForURL(`${system.origin}/app`);
  await expect.poll(() => page.getByTestId("user-email").textContent()).toBe(email);

  // The session that passed the second factor gets tokens: the documents load.
  await page.getByRole("button", { name: "Load my documents" }).click();
  await page.getByTestId("document-row").first().waitFor();
});

it("runs the account and challenge pages under their CSP with no violations", async () => {
  const violations: string[] = [];
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  await page.goto(`${system.origin}/account`);
  await page.getByTestId("two-factor-state").waitFor();
  await page.goto(`${system.origin}/sign-in`);
  await page.getByRole("button", { name: "Sign in with a passkey" }).waitFor();
  expect(violations).toEqual([]);
});
