// Passkeys in a real browser: Chromium's virtual authenticator (Chrome
// DevTools Protocol, WebAuthn domain) stands in for a platform
// authenticator with user verification; the account page registers a
// passkey, the sign-in page signs in with it, and the account page renames
// and deletes it.
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { screenshot, signOut, signUpThroughPages } from "../support/browser-account.ts";
import { launchChromium } from "../support/chromium.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

let system: RunningSystem;
let browser: Browser;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  system = await startSystem();
  browser = await launchChromium();
  context = await browser.newContext();
  page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
});
afterAll(async () => {
  await browser?.close();
  await system?.close();
});

const email = `grace-${crypto.randomUUID().slice(0, 8)}@example.com`;
const password = "a long enough passphrase";

it("registers a passkey on the account page and signs in with it", async () => {
  await signUpThroughPages(page, system.origin, "Grace Hopper", email, password);
  await page.goto(`${system.origin}/account`);
  await page.getByLabel("Passkey name").fill("Test laptop");
  await page.getByRole("button", { name: "Add a passkey" }).click();
  await page.getByTestId("passkey-row").first().waitFor();
  await expect.poll(() => page.getByLabel("Name of passkey Test laptop").inputValue()).toBe("Test laptop");
  await screenshot(page, "account-passkey");

  await signOut(page, system.origin);
  await screenshot(page, "sign-in");
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await page.waitForURL(`${system.origin}/app`);
  await expect.poll(() => page.getByTestId("user-email").textContent()).toBe(email);
  await page.getByRole("button", { name: "Load my documents" }).click();
  await page.getByTestId("document-row").first().waitFor();
});

it("renames and deletes the passkey on the account page", async () => {
  await page.goto(`${system.origin}/account`);
  await page.getByLabel("Name of passkey Test laptop").fill("Work laptop");
  await page.getByRole("button", { name: "Rename passkey Test laptop" }).click();
  await expect.poll(() => page.getByTestId("notice").textContent()).toBe("Passkey renamed.");
  await page.getByRole("button", { name: "Delete passkey Work laptop" }).click();
  await expect.poll(() => page.getByTestId("notice").textContent()).toBe("Passkey deleted.");
  await expect.poll(() => page.getByTestId("passkey-row").count()).toBe(0);

  // With its passkey gone, the authenticator's credential signs nobody in.
  await signOut(page, system.origin);
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await expect
    .poll(() => page.getByTestId("passkey-sign-in-status").textContent())
    .toBe("That passkey did not sign you in.");
  expect(new URL(page.url()).pathname).toBe("/sign-in");
});
