// Debian's Chromium driven by playwright-core (no browser download: the
// machine's /usr/bin/chromium, installed by .ci/run).
import { type Browser, chromium } from "playwright-core";
import { withFileAddress } from "./file-address.ts";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export async function launchChromium(): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  if (process.env.MONO_AUTH_SHARED_SYSTEM === "1") {
    // Each file's pages come from an address of its own, as its fetches do (file-address.ts).
    const newContext = browser.newContext.bind(browser);
    const newPage = browser.newPage.bind(browser);
    browser.newContext = (options) => newContext(withFileAddress(options));
    browser.newPage = (options) => newPage(withFileAddress(options));
  }
  return browser;
}
