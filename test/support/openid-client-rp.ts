// openid-client 6 (unmodified) as a real relying party of the browser OpenID
// provider, against the whole system on one origin: a client an operator
// registers with `mono-auth oidc-client create`, discovered from the one
// issuer, and a scripted person (sign-up page, cookie jar, consent page) who
// signs in to it. openidClientRp() is the setup of the files
// test/e2e/openid-client-*.test.ts; the pieces before it serve every
// openid-client RP test (test/support/backchannel-logout.ts too).
import * as client from "openid-client";
import { afterAll, beforeAll, expect } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { consentFormFields } from "./consent-form.ts";
import { CookieBrowser } from "./cookie-browser.ts";
import { type OperatorCli, operatorCli } from "./operator-cli.ts";
import { type RunningSystem, startSystem } from "./system.ts";

export const REDIRECT_URI = "http://localhost:4999/callback";
export const POST_LOGOUT_URI = "http://localhost:4999/signed-out";
export const PASSWORD = "correct horse battery staple";

interface Started {
  system: RunningSystem;
  operator: OperatorCli;
  registered: { client_id: string; client_secret: string };
  config: client.Configuration;
}

export interface OpenidClientRp extends Readonly<Started> {
  /** A new person, signed up (and so signed in) in a cookie browser; their email. */
  signedUpPerson(): Promise<{ browser: CookieBrowser; email: string }>;
  /** Runs the browser part: authorize → consent page → Allow; the callback URL the RP receives. */
  authorizeInBrowser(browser: CookieBrowser, url: URL): Promise<URL>;
  /** A new person signs in to the client through the browser part; the tokens openid-client redeemed for them. */
  signedInTokens(
    scope: string,
    resource?: string,
    rp?: client.Configuration,
  ): Promise<{ browser: CookieBrowser; tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers }>;
}

/** An operator-registered client as openid-client discovers it from the issuer, authenticating with client_secret_basic. */
export function discoveredRp(system: RunningSystem, clientId: string, clientSecret: string) {
  return client.discovery(
    new URL(system.origin),
    clientId,
    { token_endpoint_auth_method: "client_secret_basic" },
    client.ClientSecretBasic(clientSecret),
    { execute: [client.allowInsecureRequests] },
  );
}

/** A new person, signed up (and so signed in) in a cookie browser; their email for a later sign-in. */
export async function signedUpPerson(system: RunningSystem): Promise<{ browser: CookieBrowser; email: string }> {
  const browser = new CookieBrowser(system);
  const email = `${crypto.randomUUID()}@example.com`;
  const response = await browser.post(ENDPOINT.signUp, { name: "Relying Person", email, password: PASSWORD });
  expect(response.status).toBe(303);
  return { browser, email };
}

export interface AuthorizationRequest {
  url: URL;
  verifier: string;
  state: string;
  resource?: string;
}

/** An authorization request of `rp` for `scope` (PKCE S256, `state`; an RFC 8707 `resource` when given). */
export async function authorizationRequest(
  rp: client.Configuration,
  scope: string,
  resource?: string,
): Promise<AuthorizationRequest> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(rp, {
    redirect_uri: REDIRECT_URI,
    scope,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    ...(resource ? { resource } : {}),
  });
  return { url, verifier, state, ...(resource ? { resource } : {}) };
}

/** The code the callback carries, redeemed by openid-client (which checks `state`, `iss` and the ID token). */
export function redeemed(rp: client.Configuration, callback: URL, request: AuthorizationRequest) {
  return client.authorizationCodeGrant(
    rp,
    callback,
    { pkceCodeVerifier: request.verifier, expectedState: request.state },
    request.resource ? { resource: request.resource } : undefined,
  );
}

/**
 * Where the authorize endpoint sends the person. To a navigation (Fetch
 * Metadata `Sec-Fetch-Mode: navigate`) Better Auth answers 302; Node's fetch
 * always sends `Sec-Fetch-Mode: cors`, to which it answers the same target as
 * JSON `{ redirect: true, url }` (test/browser/consent.test.ts drives a real
 * navigation in Chromium).
 */
export async function redirectTarget(response: Response): Promise<string> {
  if (response.status === 302) return response.headers.get("Location") ?? "";
  expect(response.status).toBe(200);
  const body = (await response.json()) as { redirect?: boolean; url?: string };
  expect(body.redirect).toBe(true);
  return body.url ?? "";
}

/**
 * Starts the system before the file's tests, registers the "openid-client RP"
 * (client_secret_basic, the CLI's default for a confidential client) and
 * discovers it; stops the system after them. Read the fields inside tests.
 */
export function openidClientRp(): OpenidClientRp {
  let started: Started | undefined;
  const get = (): Started => {
    if (!started) throw new Error("the system is not started yet (read it inside a test)");
    return started;
  };

  beforeAll(async () => {
    const system = await startSystem();
    const operator = await operatorCli(system, "oidc-rp");
    const registered = await operator.json<{ client_id: string; client_secret: string }>(
      ...["oidc-client", "create", "--name", "openid-client RP", "--redirect-uri", REDIRECT_URI],
      ...["--post-logout-redirect-uri", POST_LOGOUT_URI],
      ...["--scope", "openid profile email offline_access documents:read"],
    );
    // The client was registered for client_secret_basic (the CLI's default for a confidential client).
    const config = await discoveredRp(system, registered.client_id, registered.client_secret);
    started = { system, operator, registered, config };
  });

  afterAll(async () => {
    await started?.system.close();
  });

  async function authorizeInBrowser(browser: CookieBrowser, url: URL): Promise<URL> {
    const authorize = await browser.get(url.href);
    const consentLocation = new URL(await redirectTarget(authorize), get().system.origin);
    expect(consentLocation.pathname).toBe(ENDPOINT.consent);
    const page = await browser.get(consentLocation.href);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("openid-client RP");
    // The page's form as shown: the signed request and the org it named (oidc/consent-org-binding.ts).
    const answer = await browser.post(ENDPOINT.consent, { ...consentFormFields(html), accept: "true" });
    expect(answer.status).toBe(303);
    return new URL(answer.headers.get("Location") ?? "");
  }

  async function signedInTokens(scope: string, resource?: string, rp: client.Configuration = get().config) {
    const { browser } = await signedUpPerson(get().system);
    const request = await authorizationRequest(rp, scope, resource);
    const tokens = await redeemed(rp, await authorizeInBrowser(browser, request.url), request);
    return { browser, tokens };
  }

  return {
    get system() {
      return get().system;
    },
    get operator() {
      return get().operator;
    },
    get registered() {
      return get().registered;
    },
    get config() {
      return get().config;
    },
    signedUpPerson: () => signedUpPerson(get().system),
    authorizeInBrowser,
    signedInTokens,
  };
}
