// The OAuth consent screen in a real browser (Chromium), on the one origin:
// a signed-in person follows a relying party's authorization request, sees
// the consent page (the client's name, the active org, the scopes), allows
// it, and lands on the client's redirect URI with a code, the state and the
// issuer (RFC 9207); the code then redeems at the one token endpoint. A
// signed-out person is sent to sign in first and comes back to the consent
// page; denying sends access_denied to the client. An org switched in another tab between the page
// and Allow is refused (the allow is for the org the page showed).
// Screenshots go to test/artifacts/ (git-ignored).
import { mkdirSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { OIDC_ENDPOINT } from "../../shared/contracts/oidc.ts";
import { launchChromium } from "../support/chromium.ts";
import { type OperatorCli, operatorCli } from "../support/operator-cli.ts";
import { pkcePair } from "../support/pkce.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

const ARTIFACTS = "test/artifacts";
/** The relying party's callback: the browser's request there is answered by the test (page.route). */
const REDIRECT_URI = "http://localhost:4998/callback";

let system: RunningSystem;
let operator: OperatorCli;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  system = await startSystem();
  operator = await operatorCli(system, "consent-rp");
  browser = await launchChromium();
  page = await browser.newPage();
  await page.route(`${REDIRECT_URI}**`, (route) =>
    route.fulfill({ status: 200, contentType: "text/html", body: "<h1>Back at the relying party</h1>" }),
  );
});
afterAll(async () => {
  await browser?.close();
  await system?.close();
});

it("shows the consent page for an OAuth client and, once allowed, returns a code with iss to the client", async () => {
  const client = await operator.json<{ client_id: string; client_secret: string }>(
    ...["oidc-client", "create", "--name", "Reports Dashboard", "--redirect-uri", REDIRECT_URI],
    ...["--scope", "openid profile email offline_access documents:read"],
  );

  await page.goto(`${system.origin}${ENDPOINT.signUp}`);
  await page.getByLabel("Name").fill("Ada Lovelace");
  await page.getByLabel("Email").fill(`ada-${crypto.randomUUID().slice(0, 8)}@example.com`);
  await page.getByLabel("Password").fill("a long enough passphrase");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL(`${system.origin}${ENDPOINT.app}`);

  const { verifier, challenge } = await pkcePair();
  const state = crypto.randomUUID();
  const authorize = new URL(`${system.origin}${OIDC_ENDPOINT.authorize}`);
  for (const [name, value] of Object.entries({
    response_type: "code",
    client_id: client.client_id,
    redirect_uri: REDIRECT_URI,
    scope: "openid profile email offline_access documents:read",
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  })) {
    authorize.searchParams.set(name, value);
  }
  await page.goto(authorize.href);
  await page.waitForURL(`${system.origin}${ENDPOINT.consent}?**`);
  await expect
    .poll(() => page.getByRole("heading", { level: 1 }).textContent())
    .toBe("Allow Reports Dashboard to access your account?");
  await expect.poll(() => page.getByTestId("consent-client-id").textContent()).toBe(client.client_id);
  await expect.poll(() => page.getByTestId("consent-org").textContent()).toBe("Ada Lovelace's organization");
  const scopes = await page.getByTestId("consent-scopes").locator("li code").allTextContents();
  expect(scopes).toEqual(["openid", "profile", "email", "offline_access", "documents:read"]);
  await page.screenshot({ path: `${ARTIFACTS}/consent.png`, fullPage: true });

  await page.getByTestId("consent-approve").click();
  await page.waitForURL(`${REDIRECT_URI}?**`);
  const back = new URL(page.url());
  expect(back.searchParams.get("state")).toBe(state);
  expect(back.searchParams.get("iss")).toBe(system.origin);
  const code = back.searchParams.get("code") ?? "";
  expect(code).not.toBe("");
  await page.screenshot({ path: `${ARTIFACTS}/consent-returned.png` });

  const token = await system.fetch(ENDPOINT.token, {
    method: "POST",
    headers: {
      Authorization: `Basic ${btoa(`${client.client_id}:${client.client_secret}`)}`,
      "Content-Type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    }),
  });
  expect(token.status).toBe(200);
  const tokens = (await token.json()) as { id_token?: string; refresh_token?: string };
  expect(tokens.id_token).toBeTruthy();
  expect(tokens.refresh_token).toBeTruthy();
});

it("a signed-out person is sent to sign in and, once signed in, comes straight back to the consent page", async () => {
  const client = await operator.json<{ client_id: string; client_secret: string }>(
    ...["oidc-client", "create", "--name", "Calendar Sync", "--redirect-uri", REDIRECT_URI, "--scope", "openid email"],
  );
  const email = `lin-${crypto.randomUUID().slice(0, 8)}@example.com`;
  // An account that exists, then a fresh browser with no session.
  const setup = await browser.newContext();
  const first = await setup.newPage();
  await first.goto(`${system.origin}${ENDPOINT.signUp}`);
  await first.getByLabel("Name").fill("Lin Yutang");
  await first.getByLabel("Email").fill(email);
  await first.getByLabel("Password").fill("a long enough passphrase");
  await first.getByRole("button", { name: "Create account" }).click();
  await first.waitForURL(`${system.origin}${ENDPOINT.app}`);
  await setup.close();

  const context = await browser.newContext();
  const fresh = await context.newPage();
  await fresh.route(`${REDIRECT_URI}**`, (route) => route.fulfill({ status: 200, body: "back" }));
  const { verifier, challenge } = await pkcePair();
  const authorize = new URL(`${system.origin}${OIDC_ENDPOINT.authorize}`);
  for (const [name, value] of Object.entries({
    response_type: "code",
    client_id: client.client_id,
    redirect_uri: REDIRECT_URI,
    scope: "openid email",
    state: "resume-me",
    code_challenge: challenge,
    code_challenge_method: "S256",
  })) {
    authorize.searchParams.set(name, value);
  }
  await fresh.goto(authorize.href);
  await fresh.waitForURL(`${system.origin}${ENDPOINT.signIn}?**`);
  await fresh.getByLabel("Email").fill(email);
  await fresh.getByLabel("Password").fill("a long enough passphrase");
  await fresh.getByRole("button", { name: "Sign in", exact: true }).click();
  await fresh.waitForURL(`${system.origin}${ENDPOINT.consent}?**`);
  await expect
    .poll(() => fresh.getByRole("heading", { level: 1 }).textContent())
    .toBe("Allow Calendar Sync to access your account?");
  await fresh.screenshot({ path: `${ARTIFACTS}/consent-after-sign-in.png` });
  await fresh.getByTestId("consent-deny").click();
  await fresh.waitForURL(`${REDIRECT_URI}?**`);
  const back = new URL(fresh.url());
  expect(back.searchParams.get("error")).toBe("access_denied");
  expect(back.searchParams.get("state")).toBe("resume-me");
  expect(back.searchParams.get("iss")).toBe(system.origin);
  await context.close();
});

it("an org switched in another tab between the page and Allow: refused with consent_organization_changed, nothing sent to the client", async () => {
  // The page names the org the consent is for; the form carries it (oidc/consent-org-binding.ts), so
  // an allow after the person moved to another org in a second tab is no consent for either org.
  const client = await operator.json<{ client_id: string }>(
    ...["oidc-client", "create", "--name", "Team Board", "--redirect-uri", REDIRECT_URI, "--scope", "openid"],
  );
  const context = await browser.newContext();
  const consentTab = await context.newPage();
  const reachedClient: string[] = [];
  await consentTab.route(`${REDIRECT_URI}**`, (route) => {
    reachedClient.push(route.request().url());
    return route.fulfill({ status: 200, body: "back" });
  });
  await consentTab.goto(`${system.origin}${ENDPOINT.signUp}`);
  await consentTab.getByLabel("Name").fill("Grace Hopper");
  await consentTab.getByLabel("Email").fill(`grace-${crypto.randomUUID().slice(0, 8)}@example.com`);
  await consentTab.getByLabel("Password").fill("a long enough passphrase");
  await consentTab.getByRole("button", { name: "Create account" }).click();
  await consentTab.waitForURL(`${system.origin}${ENDPOINT.app}`);
  // A second org, the first staying active (as the app's script creates one).
  const created = await context.request.post(`${system.origin}${ENDPOINT.authApi}/organization/create`, {
    headers: { Origin: system.origin },
    data: {
      name: "Compiler Team",
      slug: `compiler-${crypto.randomUUID().slice(0, 8)}`,
      keepCurrentActiveOrganization: true,
    },
  });
  expect(created.status()).toBe(200);

  const { challenge } = await pkcePair();
  const authorize = new URL(`${system.origin}${OIDC_ENDPOINT.authorize}`);
  for (const [name, value] of Object.entries({
    response_type: "code",
    client_id: client.client_id,
    redirect_uri: REDIRECT_URI,
    scope: "openid",
    state: "switched",
    code_challenge: challenge,
    code_challenge_method: "S256",
  })) {
    authorize.searchParams.set(name, value);
  }
  await consentTab.goto(authorize.href);
  await consentTab.waitForURL(`${system.origin}${ENDPOINT.consent}?**`);
  await expect.poll(() => consentTab.getByTestId("consent-org").textContent()).toBe("Grace Hopper's organization");

  const accountTab = await context.newPage();
  await accountTab.goto(`${system.origin}${ENDPOINT.account}`);
  await accountTab.getByRole("button", { name: "Switch to Compiler Team" }).click();
  await accountTab.waitForURL(`${system.origin}${ENDPOINT.account}?done=org-switched`);

  await consentTab.getByTestId("consent-approve").click();
  await expect.poll(() => consentTab.getByTestId("error-code").textContent()).toBe("consent_organization_changed");
  await expect
    .poll(() => consentTab.getByTestId("form-error").textContent())
    .toContain("You switched to another organization after this page was shown");
  await consentTab.screenshot({ path: `${ARTIFACTS}/consent-org-changed.png` });
  expect(reachedClient).toEqual([]);
  await context.close();
});

it("an application's sign-out request without an ID token asks, then returns the browser to its registered post-logout URI", async () => {
  // After the confirmation's POST the browser follows a redirect to the client, which the
  // page's CSP form-action governs too (CSP 3 §6.4.1), as after the consent page's POST.
  const signedOut = "http://localhost:4998/signed-out";
  const client = await operator.json<{ client_id: string }>(
    ...["oidc-client", "create", "--name", "Wiki", "--redirect-uri", REDIRECT_URI, "--scope", "openid"],
    ...["--post-logout-redirect-uri", signedOut],
  );
  const context = await browser.newContext();
  const person = await context.newPage();
  await person.route(`${signedOut}**`, (route) => route.fulfill({ status: 200, body: "signed out at the RP" }));
  const violations: string[] = [];
  person.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  await person.goto(`${system.origin}${ENDPOINT.signUp}`);
  await person.getByLabel("Name").fill("Mary Somerville");
  await person.getByLabel("Email").fill(`mary-${crypto.randomUUID().slice(0, 8)}@example.com`);
  await person.getByLabel("Password").fill("a long enough passphrase");
  await person.getByRole("button", { name: "Create account" }).click();
  await person.waitForURL(`${system.origin}${ENDPOINT.app}`);

  const endSession = new URL(`${system.origin}${OIDC_ENDPOINT.endSession}`);
  endSession.searchParams.set("client_id", client.client_id);
  endSession.searchParams.set("post_logout_redirect_uri", signedOut);
  endSession.searchParams.set("state", "bye");
  await person.goto(endSession.href);
  await expect.poll(() => person.getByRole("heading", { level: 1 }).textContent()).toBe("Sign out?");
  await person.getByRole("button", { name: "Sign out" }).click();
  await person.waitForURL(`${signedOut}?state=bye`, { timeout: 10_000 });
  expect(violations).toEqual([]);
  await person.goto(`${system.origin}${ENDPOINT.app}`);
  await person.waitForURL(`${system.origin}${ENDPOINT.signIn}**`);
  await context.close();
});
