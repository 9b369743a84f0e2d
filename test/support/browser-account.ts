// What the browser tests of the account flows share: a person signed up
// through the pages (confirming the address from the dev mailbox when the
// system asks for it), signing in and out, and screenshots for a person to
// look at (test/artifacts/, git-ignored).
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import type { Page } from "playwright-core";

const ARTIFACTS = resolve(import.meta.dirname, "../artifacts");

/** Saves a full-page screenshot as test/artifacts/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: resolve(ARTIFACTS, `${name}.png`), fullPage: true });
}

interface Mail {
  to: string;
  kind: string;
  text: string;
}

/** The newest link mailed to `email` of `kind`, read from the dev mailbox (ENDPOINT.devMailbox, JSON). */
async function mailedLink(origin: string, email: string, kind: string): Promise<string> {
  for (let tries = 0; tries < 50; tries++) {
    const response = await fetch(`${origin}/dev/mailbox?format=json&to=${encodeURIComponent(email)}`);
    const { messages } = (await response.json()) as { messages: Mail[] };
    const link = messages.find((m) => m.kind === kind)?.text.match(/https?:\/\/\S+/)?.[0];
    if (link) return link;
    await new Promise((done) => setTimeout(done, 200));
  }
  throw new Error(`no ${kind} mail for ${email}`);
}

export async function signInWithPassword(page: Page, origin: string, email: string, password: string): Promise<void> {
  await page.goto(`${origin}/sign-in`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

/** Signs a new person up through the pages and leaves the browser on /app. */
export async function signUpThroughPages(page: Page, origin: string, name: string, email: string, password: string) {
  await page.goto(`${origin}/sign-up`);
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL((url) => url.pathname === "/app" || url.pathname === "/verify-email");
  if (new URL(page.url()).pathname === "/verify-email") {
    await page.goto(await mailedLink(origin, email, "verify-email"));
    await page.getByRole("button", { name: "Confirm my email address" }).click();
    await signInWithPassword(page, origin, email, password);
    await page.waitForURL(`${origin}/app`);
  }
}

export async function signOut(page: Page, origin: string): Promise<void> {
  await page.goto(`${origin}/app`);
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(`${origin}/sign-in`);
}
