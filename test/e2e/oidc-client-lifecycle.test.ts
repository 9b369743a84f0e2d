// An operator manages a relying party of the browser OpenID provider with
// the CLI (`mono-auth oidc-client show|update|disable|enable|rotate-secret|
// delete`), and openid-client 6 (unmodified) as that relying party sees what
// each does, on the whole system: a rotated secret is refused at once; a
// disabled client's refresh is refused, the person is never sent back to it,
// and its access token is refused at the gateway before it expires.
import * as client from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { answerConsentPage } from "../support/consent-form.ts";
import { type OperatorCli, operatorCli } from "../support/operator-cli.ts";
import { gatewayVerdict } from "../support/gateway-verdict.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";
import { expectCliRefusal } from "../support/cli-refusal.ts";
import { CookieBrowser } from "../support/cookie-browser.ts";
import { discoveredRp } from "../support/openid-client-rp.ts";

const REDIRECT_URI = "http://localhost:4998/callback";
const SCOPE = "openid profile email offline_access documents:read";
const REFUSED_WITHIN = { timeout: 30_000, interval: 100 };

interface View {
  client_id: string;
  client_name: string;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  scope: string;
  disabled: boolean;
  client_secret?: string;
}

let system: RunningSystem;
let operator: OperatorCli;

beforeAll(async () => {
  system = await startSystem();
  operator = await operatorCli(system, "oidc-lifecycle");
});
afterAll(() => system?.close());

/** A client registered by the CLI, and openid-client configured for it with the given secret. */
async function registered(): Promise<View> {
  return operator.json<View>(
    ...["oidc-client", "create", "--name", "Lifecycle RP", "--redirect-uri", REDIRECT_URI, "--scope", SCOPE],
  );
}

function configure(clientId: string, secret: string): Promise<client.Configuration> {
  return discoveredRp(system, clientId, secret);
}

async function signedUpBrowser(): Promise<CookieBrowser> {
  const browser = new CookieBrowser(system);
  const response = await browser.post(ENDPOINT.signUp, {
    name: "Relying Person",
    email: `${crypto.randomUUID()}@example.com`,
    password: "correct horse battery staple",
  });
  expect(response.status).toBe(303);
  return browser;
}

/** Where the authorize endpoint sends the person: 302, or (to Node's `Sec-Fetch-Mode: cors`) `{ redirect, url }`. */
async function redirectTarget(response: Response): Promise<URL> {
  if (response.status === 302) return new URL(response.headers.get("Location") ?? "", system.origin);
  expect(response.status).toBe(200);
  const body = (await response.json()) as { redirect?: boolean; url?: string };
  expect(body.redirect).toBe(true);
  return new URL(body.url ?? "", system.origin);
}

function authorizationUrl(config: client.Configuration, challenge: string) {
  return client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: SCOPE,
    code_challenge: challenge,
    code_challenge_method: "S256",
    state: "s",
    resource: `${system.origin}/api`,
  });
}

/** authorize → consent → Allow (unless given before) → code redeemed by openid-client. */
async function signIn(browser: CookieBrowser, config: client.Configuration) {
  const verifier = client.randomPKCECodeVerifier();
  const url = authorizationUrl(config, await client.calculatePKCECodeChallenge(verifier));
  const first = await redirectTarget(await browser.get(url.href));
  // A consent given before (a disable keeps it) goes straight back to the client.
  let callback = first;
  if (!first.href.startsWith(REDIRECT_URI)) {
    expect(first.pathname).toBe(ENDPOINT.consent);
    const answer = await answerConsentPage(browser, first);
    expect(answer.status).toBe(303);
    callback = new URL(answer.headers.get("Location") ?? "");
  }
  return client.authorizationCodeGrant(
    config,
    callback,
    { pkceCodeVerifier: verifier, expectedState: "s" },
    { resource: `${system.origin}/api` },
  );
}

/**
 * The RFC 6749 §5.2 error openid-client got, with the HTTP status. A 401
 * carries `WWW-Authenticate: Basic` (§5.2 for a client that authenticated
 * with Basic), which openid-client surfaces as a challenge: its body still
 * names the error.
 */
async function refusal(attempt: Promise<unknown>): Promise<string> {
  const error = await attempt.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (error instanceof client.WWWAuthenticateChallengeError) {
    const body = (await error.response.clone().json()) as { error?: string };
    return `${error.status} ${body.error}`;
  }
  expect(error).toBeInstanceOf(client.ResponseBodyError);
  return `${(error as client.ResponseBodyError).status} ${(error as client.ResponseBodyError).error}`;
}

const gateway = (token: string): Promise<string> => gatewayVerdict(system, token);

describe("mono-auth oidc-client: one client's lifecycle, as its relying party sees it", { timeout: 120_000 }, () => {
  it("show and update: the change holds at the next sign-in", async () => {
    const created = await registered();
    const shown = await operator.json<View>("oidc-client", "show", "--id", created.client_id);
    expect(shown).toMatchObject({ client_id: created.client_id, client_name: "Lifecycle RP", disabled: false });
    expect(JSON.stringify(shown)).not.toContain(created.client_secret ?? "none");

    const updated = await operator.json<View>(
      ...["oidc-client", "update", "--id", created.client_id, "--name", "Renamed RP"],
      ...["--redirect-uri", "http://localhost:4998/elsewhere"],
    );
    expect(updated).toMatchObject({ client_name: "Renamed RP", redirect_uris: ["http://localhost:4998/elsewhere"] });
    // RFC 6749 §4.1.2.1: a redirect URI no longer registered is never redirected to.
    const config = await configure(created.client_id, created.client_secret ?? "");
    const verifier = client.randomPKCECodeVerifier();
    const url = authorizationUrl(config, await client.calculatePKCECodeChallenge(verifier));
    const target = await redirectTarget(await (await signedUpBrowser()).get(url.href));
    expect(target.origin).toBe(system.origin);
    expect(target.searchParams.get("error")).toBe("invalid_redirect");

    await expectCliRefusal(
      operator.cli("oidc-client", "update", "--id", created.client_id, "--scope", "openid admin"),
      /refused \(400 invalid_body\)/,
    );
    await expectCliRefusal(operator.cli("oidc-client", "update", "--id", created.client_id), /nothing to change/);

    const back = "http://localhost:4998/signed-out";
    const withLogout = await operator.json<View>(
      ...["oidc-client", "update", "--id", created.client_id, "--post-logout-redirect-uri", back],
    );
    expect(withLogout).toMatchObject({ post_logout_redirect_uris: [back] });
    const cleared = await operator.json<View>(
      ...["oidc-client", "update", "--id", created.client_id, "--no-post-logout-redirect"],
    );
    expect(cleared).toMatchObject({ post_logout_redirect_uris: [] });
    await expectCliRefusal(
      operator.cli(
        ...["oidc-client", "update", "--id", created.client_id],
        ...["--post-logout-redirect-uri", back, "--no-post-logout-redirect"],
      ),
      /not both/,
    );
  });

  it("rotate-secret: the new secret is printed once; the old one is refused at once, 401 invalid_client", async () => {
    const created = await registered();
    const before = await configure(created.client_id, created.client_secret ?? "");
    const tokens = await signIn(await signedUpBrowser(), before);
    const rotated = await operator.json<View>("oidc-client", "rotate-secret", "--id", created.client_id);
    expect(rotated.client_secret).toMatch(/^mas_/);
    expect(await refusal(client.refreshTokenGrant(before, tokens.refresh_token ?? ""))).toBe("401 invalid_client");
    const after = await configure(created.client_id, rotated.client_secret ?? "");
    const refreshed = await client.refreshTokenGrant(after, tokens.refresh_token ?? "");
    expect(refreshed.access_token).toBeTruthy();
  });

  it("disable: no refresh, no sign-in, and its access token is refused at the gateway; enable lets people back", async () => {
    const created = await registered();
    const config = await configure(created.client_id, created.client_secret ?? "");
    const browser = await signedUpBrowser();
    const tokens = await signIn(browser, config);
    expect(await gateway(tokens.access_token)).toBe("allowed");

    const disabled = await operator.json<View>("oidc-client", "disable", "--id", created.client_id);
    expect(disabled.disabled).toBe(true);
    await expect.poll(() => gateway(tokens.access_token), REFUSED_WITHIN).toBe("401 ERR_TOKEN_REVOKED");
    expect(await refusal(client.refreshTokenGrant(config, tokens.refresh_token ?? ""))).toBe("401 invalid_client");
    const verifier = client.randomPKCECodeVerifier();
    const url = authorizationUrl(config, await client.calculatePKCECodeChallenge(verifier));
    const target = await redirectTarget(await browser.get(url.href));
    expect(target.origin).toBe(system.origin);
    expect(target.searchParams.get("error")).toBe("client_disabled");

    const enabled = await operator.json<View>("oidc-client", "enable", "--id", created.client_id);
    expect(enabled.disabled).toBe(false);
    // The disable's `client` cut-off covers every token issued up to its whole second (iat <=
    // revoked_at): one minted in that same second is refused with it, by design. Sign in after it.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const again = await signIn(browser, config);
    expect(await gateway(again.access_token)).toBe("allowed");
  });

  it("delete: gone from the CLI and the provider; its access token is refused at the gateway", async () => {
    const created = await registered();
    const config = await configure(created.client_id, created.client_secret ?? "");
    const tokens = await signIn(await signedUpBrowser(), config);
    const deleted = await operator.json<{ client_id: string; deleted: boolean }>(
      ...["oidc-client", "delete", "--id", created.client_id],
    );
    expect(deleted).toEqual({ client_id: created.client_id, deleted: true });
    await expect.poll(() => gateway(tokens.access_token), REFUSED_WITHIN).toBe("401 ERR_TOKEN_REVOKED");
    await expectCliRefusal(
      operator.cli("oidc-client", "show", "--id", created.client_id),
      /refused \(404 not_found\): no such browser client/,
    );
  });
});
