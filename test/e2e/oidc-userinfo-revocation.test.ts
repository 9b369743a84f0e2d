// The browser OpenID provider's userinfo (OIDC Core §5.3) refuses an access
// token the org's Durable Object revoked, as the gateway and introspection
// do: Better Auth's userinfo checked only its own tables, so a token whose
// subject was cut off (an operator's revoke, a member removed) kept reading
// the person's claims until it expired. Here, against the whole system on
// one origin (userinfo verifies JWTs with the issuer's JWKS, which the
// authn project's runtime cannot fetch): a relying party driven by
// openid-client gets a JWT access token (with `resource`) and an opaque one
// (without), reads userinfo, and is refused with RFC 6750 §3.1
// `401 invalid_token` once the session signs out, an operator revokes the
// subject, or an operator signs the person out.
import { decodeJwt } from "jose";
import * as client from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { answerConsentPage } from "../support/consent-form.ts";
import { OIDC_ENDPOINT } from "../../shared/contracts/oidc.ts";
import { CookieBrowser } from "../support/cookie-browser.ts";
import { discoveredRp } from "../support/openid-client-rp.ts";
import { type OperatorCli, operatorCli } from "../support/operator-cli.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

const REDIRECT_URI = "http://localhost:4998/callback";
const REVOKED_CHALLENGE =
  'Bearer realm="mono-auth", error="invalid_token", error_description="ERR_TOKEN_REVOKED: token revoked"';
const REVOKED_BODY = { error: "invalid_token", error_description: "ERR_TOKEN_REVOKED: token revoked" };

let system: RunningSystem;
let operator: OperatorCli;
let config: client.Configuration;

beforeAll(async () => {
  system = await startSystem();
  operator = await operatorCli(system, "oidc-userinfo");
  const registered = await operator.json<{ client_id: string; client_secret: string }>(
    ...["oidc-client", "create", "--name", "userinfo RP", "--redirect-uri", REDIRECT_URI],
    ...["--scope", "openid profile email documents:read"],
  );
  config = await discoveredRp(system, registered.client_id, registered.client_secret);
});

afterAll(async () => {
  await system?.close();
});

async function signedUpPerson() {
  const browser = new CookieBrowser(system);
  const email = `${crypto.randomUUID()}@example.com`;
  const response = await browser.post(ENDPOINT.signUp, {
    name: "Userinfo Person",
    email,
    password: "correct horse battery staple",
  });
  expect(response.status).toBe(303);
  return { browser, email };
}

/** Where the authorize endpoint sends a script (it answers Node's fetch with JSON; see test/support/openid-client-rp.ts). */
async function redirectTarget(response: Response): Promise<URL> {
  if (response.status === 302) return new URL(response.headers.get("Location") ?? "", system.origin);
  expect(response.status).toBe(200);
  const body = (await response.json()) as { url?: string };
  return new URL(body.url ?? "", system.origin);
}

/** Code + PKCE through the person's browser (consent once per client); with `resource` a JWT, without an opaque token. */
async function accessToken(browser: CookieBrowser, resource?: string): Promise<string> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: "openid email documents:read",
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    ...(resource ? { resource } : {}),
  });
  let callback = await redirectTarget(await browser.get(url.href));
  if (callback.pathname === ENDPOINT.consent) {
    const answer = await answerConsentPage(browser, callback);
    expect(answer.status).toBe(303);
    callback = new URL(answer.headers.get("Location") ?? "");
  }
  const tokens = await client.authorizationCodeGrant(
    config,
    callback,
    { pkceCodeVerifier: verifier, expectedState: state },
    resource ? { resource } : undefined,
  );
  return tokens.access_token;
}

function userinfo(token: string): Promise<Response> {
  return system.fetch(OIDC_ENDPOINT.userinfo, { headers: { Authorization: `Bearer ${token}` } });
}

/** RFC 6750 §2.2: the token in a form body, which Better Auth's userinfo also reads. */
function userinfoByForm(token: string): Promise<Response> {
  return system.fetch(OIDC_ENDPOINT.userinfo, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ access_token: token }),
  });
}

async function expectRevoked(response: Response) {
  expect(response.status).toBe(401);
  expect(response.headers.get("WWW-Authenticate")).toBe(REVOKED_CHALLENGE);
  expect(await response.json()).toEqual(REVOKED_BODY);
}

async function expectClaims(response: Response, email: string) {
  expect(response.status).toBe(200);
  expect(((await response.json()) as { email?: string }).email).toBe(email);
}

describe("userinfo refuses revoked access tokens", { timeout: 120_000 }, () => {
  it("(a) a JWT access token whose session signed out is 401 invalid_token", async () => {
    const { browser, email } = await signedUpPerson();
    const token = await accessToken(browser, `${system.origin}/api`);
    await expectClaims(await userinfo(token), email);

    const signOut = await system.fetch(`${ENDPOINT.authApi}/sign-out`, {
      method: "POST",
      headers: { Cookie: browser.header(), Origin: system.origin, "Content-Type": "application/json" },
      body: "{}",
    });
    expect(signOut.status).toBe(200);
    await expectRevoked(await userinfo(token));
  });

  it("(b) an operator's subject revocation refuses the JWT and the opaque token, by header and by form", async () => {
    const { browser, email } = await signedUpPerson();
    const jwt = await accessToken(browser, `${system.origin}/api`);
    const opaque = await accessToken(browser);
    expect(opaque.split(".")).toHaveLength(1);
    await expectClaims(await userinfo(jwt), email);
    await expectClaims(await userinfo(opaque), email);
    await expectClaims(await userinfoByForm(opaque), email);

    const { sub, org_id } = decodeJwt(jwt) as { sub: string; org_id: string };
    await operator.json("revoke", "--org", org_id, "--subject", sub, "--reason", "userinfo test");
    await expectRevoked(await userinfo(jwt));
    await expectRevoked(await userinfo(opaque));
    await expectRevoked(await userinfoByForm(opaque));
    await expectRevoked(await userinfoByForm(jwt));
  });

  it("(b) an operator's `user sign-out` refuses the person's JWT access token", async () => {
    const { browser, email } = await signedUpPerson();
    const token = await accessToken(browser, `${system.origin}/api`);
    await expectClaims(await userinfo(token), email);

    const { sub } = decodeJwt(token) as { sub: string };
    await operator.json("user", "sign-out", "--id", sub);
    await expectRevoked(await userinfo(token));
  });
});
