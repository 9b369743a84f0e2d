// openid-client 6 (unmodified) as a real relying party of the browser OpenID
// provider, against the whole system on one origin: discovery from the one
// issuer, authorization code + PKCE S256 with a scripted person (sign-up
// page, cookie jar, consent page), the RFC 9207 `iss` check it performs
// itself, the ID token against the one JWKS, userinfo, refresh rotation,
// the access token at the gateway like any other, and RFC 7662 introspection
// of its own tokens. The client is registered by an operator with
// `mono-auth oidc-client create`.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, importJWK, type JWK, jwtVerify, SignJWT } from "jose";
import * as client from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { BACKCHANNEL_LOGOUT_EVENT } from "../../shared/contracts/oidc.ts";
import { JWT_TYP, SIGNING_ALG } from "../../shared/contracts/tokens.ts";
import { unseal } from "../../workers/token/src/keys/seal.ts";
import { type OperatorCli, operatorCli } from "../support/operator-cli.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";
import { CookieBrowser } from "../support/cookie-browser.ts";
import { TEST_SECRETS } from "../support/secrets.ts";

const REDIRECT_URI = "http://localhost:4999/callback";
const POST_LOGOUT_URI = "http://localhost:4999/signed-out";

let system: RunningSystem;
let operator: OperatorCli;
let registered: { client_id: string; client_secret: string };
let config: client.Configuration;

async function signedUpPerson() {
  const browser = new CookieBrowser(system);
  const email = `${crypto.randomUUID()}@example.com`;
  const response = await browser.post(ENDPOINT.signUp, {
    name: "Relying Person",
    email,
    password: "correct horse battery staple",
  });
  expect(response.status).toBe(303);
  return { browser, email };
}

/**
 * Where the authorize endpoint sends the person. To a navigation (Fetch
 * Metadata `Sec-Fetch-Mode: navigate`) Better Auth answers 302; Node's fetch
 * always sends `Sec-Fetch-Mode: cors`, to which it answers the same target as
 * JSON `{ redirect: true, url }` (test/browser/consent.test.ts drives a real
 * navigation in Chromium).
 */
async function redirectTarget(response: Response): Promise<string> {
  if (response.status === 302) return response.headers.get("Location") ?? "";
  expect(response.status).toBe(200);
  const body = (await response.json()) as { redirect?: boolean; url?: string };
  expect(body.redirect).toBe(true);
  return body.url ?? "";
}

/** Runs the browser part: authorize → consent page → Allow; the callback URL the RP receives. */
async function authorizeInBrowser(browser: CookieBrowser, url: URL): Promise<URL> {
  const authorize = await browser.get(url.href);
  const consentLocation = new URL(await redirectTarget(authorize), system.origin);
  expect(consentLocation.pathname).toBe(ENDPOINT.consent);
  const page = await browser.get(consentLocation.href);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain("openid-client RP");
  const answer = await browser.post(ENDPOINT.consent, {
    oauth_query: consentLocation.search.slice(1),
    accept: "true",
  });
  expect(answer.status).toBe(303);
  return new URL(answer.headers.get("Location") ?? "");
}

/** A new person signs in to the client through the browser part; the tokens openid-client redeemed for them. */
async function signedInTokens(scope: string, resource?: string, rp: client.Configuration = config) {
  const { browser } = await signedUpPerson();
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
  const tokens = await client.authorizationCodeGrant(
    rp,
    await authorizeInBrowser(browser, url),
    { pkceCodeVerifier: verifier, expectedState: state },
    resource ? { resource } : undefined,
  );
  return { browser, tokens };
}

/** Any claims under `typ`, signed with the issuer's current key (read from D1 and unsealed as the token Worker does). */
async function signWithIssuerKey(typ: string, claims: Record<string, unknown>): Promise<string> {
  const [row] = await system.queryMain<{ kid: string; sealed: string }>(
    "SELECT kid, private_jwk_sealed AS sealed FROM signing_key WHERE status = 'current'",
  );
  if (!row) throw new Error("no current signing key");
  const jwk = JSON.parse(await unseal(TEST_SECRETS.KEY_ENCRYPTION_SECRET, row.kid, row.sealed)) as JWK;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: SIGNING_ALG, typ, kid: row.kid })
    .sign(await importJWK(jwk, SIGNING_ALG));
}

beforeAll(async () => {
  system = await startSystem();
  operator = await operatorCli(system, "oidc-rp");
  registered = await operator.json<{ client_id: string; client_secret: string }>(
    ...["oidc-client", "create", "--name", "openid-client RP", "--redirect-uri", REDIRECT_URI],
    ...["--post-logout-redirect-uri", POST_LOGOUT_URI],
    ...["--scope", "openid profile email offline_access documents:read"],
  );
  // The client was registered for client_secret_basic (the CLI's default for a confidential client).
  config = await client.discovery(
    new URL(system.origin),
    registered.client_id,
    { token_endpoint_auth_method: "client_secret_basic" },
    client.ClientSecretBasic(registered.client_secret),
    { execute: [client.allowInsecureRequests] },
  );
});

afterAll(async () => {
  await system?.close();
});

describe("openid-client 6 against the browser OpenID provider", () => {
  it("the operator's CLI lists the client it registered, without its secret", async () => {
    const listed = await operator.json<{ oidc_clients: { client_id: string; redirect_uris: string[] }[] }>(
      "oidc-client",
      "list",
    );
    const mine = listed.oidc_clients.find((c) => c.client_id === registered.client_id);
    expect(mine?.redirect_uris).toEqual([REDIRECT_URI]);
    expect(JSON.stringify(listed)).not.toContain(registered.client_secret);
  });

  it("discovers one issuer: authorization, token, userinfo and JWKS endpoints, S256 only, RFC 9207", () => {
    const metadata = config.serverMetadata();
    expect(metadata.issuer).toBe(system.origin);
    expect(metadata.token_endpoint).toBe(`${system.origin}${ENDPOINT.token}`);
    expect(metadata.jwks_uri).toBe(`${system.origin}${ENDPOINT.jwks}`);
    expect(metadata.code_challenge_methods_supported).toEqual(["S256"]);
    expect(metadata.authorization_response_iss_parameter_supported).toBe(true);
    expect(metadata.response_types_supported).toEqual(["code"]);
    expect(metadata.end_session_endpoint).toBe(`${system.origin}/api/auth/oauth2/end-session`);
  });

  it("RP-initiated logout: its end-session URL with the ID token ends the session, revokes its tokens, returns to the RP", async () => {
    const { browser, tokens } = await signedInTokens("openid documents:read", `${system.origin}/api`);
    // Better Auth puts the session in the ID token (`sid`) for a client that may end it.
    expect(typeof tokens.claims()?.sid).toBe("string");
    const api = () => system.fetch("/api/documents", { headers: { Authorization: `Bearer ${tokens.access_token}` } });
    expect((await api()).status).toBe(200);

    const logoutState = client.randomState();
    const logout = await browser.get(
      client.buildEndSessionUrl(config, {
        id_token_hint: tokens.id_token ?? "",
        post_logout_redirect_uri: POST_LOGOUT_URI,
        state: logoutState,
      }).href,
    );
    // The hint names this browser's session: ended without asking, back to the registered URI with `state`.
    const back = new URL(await redirectTarget(logout));
    expect(`${back.origin}${back.pathname}`).toBe(POST_LOGOUT_URI);
    expect(back.searchParams.get("state")).toBe(logoutState);
    expect((await browser.get(`${system.origin}${ENDPOINT.app}`)).status).toBe(303);
    // Ending the session is a revocation of its tokens (docs/revocation.md): the gateway refuses this one.
    await expect.poll(async () => (await api()).status, { timeout: 10_000 }).toBe(401);
  });

  it("RP-initiated logout: a JWT our key signed that is not an ID token (typ at+jwt) ends nothing, however it is spelled", async () => {
    // Better Auth alone takes any JWT of the issuer's key that names the session (`sid`) and the client
    // (`aud`); workers/authn/src/oidc/logout-hint.ts pins typ JWT first. Both hints below are signed with
    // the issuer's real current key: the one with an ID token's header is the control.
    const { browser, tokens } = await signedInTokens("openid");
    const idClaims = decodeJwt(tokens.id_token ?? "");
    const { iss, sub, aud, sid } = idClaims;
    const now = Math.floor(Date.now() / 1000);
    const forge = (typ: string) => signWithIssuerKey(typ, { iss, sub, aud, sid, iat: now, exp: now + 300 });
    const endSession = (hint: string) =>
      system.fetch(`${ENDPOINT.authApi}/oauth2/end-session?${new URLSearchParams({ id_token_hint: hint })}`, {
        headers: { Accept: "application/json" },
      });
    const signedIn = async () => (await browser.get(`${system.origin}${ENDPOINT.app}`)).status === 200;

    const forged = await forge(JWT_TYP.accessToken);
    const refused = await endSession(forged);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: "invalid_token" });
    expect(await signedIn()).toBe(true);
    // Spellings of the same forged hint that jose still verifies (base64url padding or whitespace in the
    // signature), and a form body that also parses as JSON: each is read as Better Auth reads it, and refused.
    for (const spelling of [`${forged}==`, `${forged.slice(0, -4)} ${forged.slice(-4)}`]) {
      const respelled = await endSession(spelling);
      expect({ status: respelled.status, body: await respelled.json() }).toMatchObject({
        status: 401,
        body: { error: "invalid_token" },
      });
      expect(await signedIn()).toBe(true);
    }
    const disguised = await system.fetch(`${ENDPOINT.authApi}/oauth2/end-session`, {
      method: "POST",
      headers: {
        Accept: "application/json",
        Origin: system.origin,
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: `{"x":"&id_token_hint=${forged}&y="}`,
    });
    expect({ status: disguised.status, body: await disguised.json() }).toMatchObject({
      status: 401,
      body: { error: "invalid_token" },
    });
    expect(await signedIn()).toBe(true);

    const control = await endSession(await forge("JWT"));
    expect(control.status).toBe(200);
    expect(await signedIn()).toBe(false);
  });

  it("back-channel logout: a session's end POSTs a Logout Token to the client's registered URI, verifiable as the spec says", async () => {
    // The RP's back-channel endpoint: a real HTTP server the authn Worker POSTs to.
    const received: { contentType: string | undefined; body: string }[] = [];
    const rpServer = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk) => {
        body += chunk;
      });
      request.on("end", () => {
        received.push({ contentType: request.headers["content-type"], body });
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => rpServer.listen(0, "127.0.0.1", resolve));
    try {
      const backchannel = `http://127.0.0.1:${(rpServer.address() as AddressInfo).port}/backchannel`;
      const rp = await operator.json<{ client_id: string; client_secret: string; backchannel_logout_uri: string }>(
        ...["oidc-client", "create", "--name", "openid-client RP with back-channel logout"],
        ...["--redirect-uri", REDIRECT_URI, "--backchannel-logout-uri", backchannel, "--scope", "openid"],
      );
      expect(rp.backchannel_logout_uri).toBe(backchannel);
      const rpConfig = await client.discovery(
        new URL(system.origin),
        rp.client_id,
        { token_endpoint_auth_method: "client_secret_basic" },
        client.ClientSecretBasic(rp.client_secret),
        { execute: [client.allowInsecureRequests] },
      );
      expect(rpConfig.serverMetadata().backchannel_logout_supported).toBe(true);
      expect(rpConfig.serverMetadata().backchannel_logout_session_supported).toBe(true);

      const { tokens } = await signedInTokens("openid", undefined, rpConfig);
      const idClaims = tokens.claims();
      const endSession = client.buildEndSessionUrl(rpConfig, { id_token_hint: tokens.id_token ?? "" });
      const ended = await system.fetch(`${endSession.pathname}${endSession.search}`, {
        headers: { Accept: "application/json" },
      });
      expect(ended.status).toBe(200);

      await expect.poll(() => received.length).toBe(1);
      const [delivery] = received;
      expect(delivery?.contentType).toBe("application/x-www-form-urlencoded");
      const logoutToken = new URLSearchParams(delivery?.body).get("logout_token") ?? "";
      // OIDC Back-Channel Logout 1.0 §2.6: the RP validates it as an ID token, then its own rules.
      const { payload, protectedHeader } = await jwtVerify(
        logoutToken,
        createRemoteJWKSet(new URL(`${system.origin}${ENDPOINT.jwks}`)),
        { issuer: system.origin, audience: rp.client_id, algorithms: [SIGNING_ALG], typ: JWT_TYP.logoutToken },
      );
      expect(protectedHeader.alg).toBe(SIGNING_ALG);
      expect(payload.sid).toBe(idClaims?.sid);
      expect(payload.sub).toBe(idClaims?.sub);
      expect(payload.events).toEqual({ [BACKCHANNEL_LOGOUT_EVENT]: {} });
      expect(payload.nonce).toBeUndefined();
      expect(typeof payload.jti).toBe("string");
      expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBeLessThanOrEqual(120);

      // Turned off, it sends nothing more.
      const off = await operator.json<{ backchannel_logout_uri: string | null }>(
        ...["oidc-client", "update", "--id", rp.client_id, "--no-backchannel-logout"],
      );
      expect(off.backchannel_logout_uri).toBeNull();
    } finally {
      rpServer.close();
    }
  });

  it("RP-initiated logout to a URI the client did not register ends the session but sends the browser nowhere", async () => {
    const { browser, tokens } = await signedInTokens("openid");
    const logout = await browser.get(
      client.buildEndSessionUrl(config, {
        id_token_hint: tokens.id_token ?? "",
        post_logout_redirect_uri: "https://evil.example/landing",
      }).href,
    );
    expect(logout.headers.get("Location")).toBeNull();
    expect(await logout.text()).not.toContain("evil.example");
    expect((await browser.get(`${system.origin}${ENDPOINT.app}`)).status).toBe(303);
  });

  it("RP-initiated logout: the ID token alone, sent without the browser's cookie, ends its session without asking", async () => {
    // What the RP's server (or anyone else holding the ID token) can do: Better Auth asks only a
    // browser whose own session is another one; with no session cookie it ends the hinted session.
    const { browser, tokens } = await signedInTokens("openid");
    expect((await browser.get(`${system.origin}${ENDPOINT.app}`)).status).toBe(200);
    const endSession = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token ?? "" });
    const ended = await system.fetch(`${endSession.pathname}${endSession.search}`, {
      headers: { Accept: "application/json" },
    });
    expect(ended.status).toBe(200);
    expect((await browser.get(`${system.origin}${ENDPOINT.app}`)).status).toBe(303);
  });

  it("authorization code + PKCE + consent → ID token, at+jwt access token that the gateway accepts, userinfo, refresh rotation", async () => {
    const { browser, email } = await signedUpPerson();
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const resource = `${system.origin}/api`;
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: "openid profile email offline_access documents:read",
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state,
      nonce,
      resource,
    });
    const callback = await authorizeInBrowser(browser, url);
    expect(callback.searchParams.get("iss")).toBe(system.origin);

    // openid-client checks state, iss (RFC 9207), the ID token's signature
    // against jwks_uri, its iss/aud/nonce, and PKCE on the token request.
    const tokens = await client.authorizationCodeGrant(
      config,
      callback,
      { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce },
      { resource },
    );
    const claims = tokens.claims();
    expect(claims?.iss).toBe(system.origin);
    expect(claims?.aud).toBe(registered.client_id);
    expect(decodeProtectedHeader(tokens.access_token).typ).toBe("at+jwt");
    const access = decodeJwt(tokens.access_token);
    expect(access).toMatchObject({ iss: system.origin, sub: claims?.sub, client_id: registered.client_id });
    expect(typeof access.org_id).toBe("string");

    // The same token works at the gateway, like any token of the issuer.
    const documents = await system.fetch("/api/documents", {
      headers: { Authorization: `Bearer ${tokens.access_token}` },
    });
    expect(documents.status).toBe(200);

    const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims?.sub ?? "");
    expect(userinfo.email).toBe(email);

    // Rotation: a new refresh token each time; the spent one is refused and takes its family with it.
    const first = tokens.refresh_token ?? "";
    const rotated = await client.refreshTokenGrant(config, first, { resource });
    expect(rotated.refresh_token).toBeTruthy();
    expect(rotated.refresh_token).not.toBe(first);
    const replay = await client.refreshTokenGrant(config, first).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(replay).toBeInstanceOf(client.ResponseBodyError);
    expect((replay as client.ResponseBodyError).error).toBe("invalid_grant");
    const family = await client.refreshTokenGrant(config, rotated.refresh_token ?? "").then(
      () => undefined,
      (error: unknown) => error,
    );
    expect((family as client.ResponseBodyError).error).toBe("invalid_grant");
  });

  it("RFC 7662: tokenIntrospection reads its own tokens active, and inactive once revoked (RFC 7009) or signed out", async () => {
    const resource = `${system.origin}/api`;
    const { tokens } = await signedInTokens("openid offline_access documents:read", resource);
    const access = decodeJwt(tokens.access_token);

    // openid-client authenticates with the client's client_secret_basic at the advertised introspection_endpoint.
    const accessAnswer = await client.tokenIntrospection(config, tokens.access_token);
    expect(accessAnswer).toMatchObject({
      active: true,
      iss: system.origin,
      client_id: registered.client_id,
      sub: access.sub,
      jti: access.jti,
      exp: access.exp,
      token_type: "Bearer",
    });
    const refresh = tokens.refresh_token ?? "";
    const refreshAnswer = await client.tokenIntrospection(config, refresh, { token_type_hint: "refresh_token" });
    expect(refreshAnswer).toMatchObject({ active: true, client_id: registered.client_id, sub: access.sub });
    expect(refreshAnswer.sid).toBeUndefined();

    await client.tokenRevocation(config, refresh, { token_type_hint: "refresh_token" });
    expect(await client.tokenIntrospection(config, refresh)).toEqual({ active: false });
    // RFC 7009 §2.1: the access tokens of the refresh token's grant end with it.
    expect(await client.tokenIntrospection(config, tokens.access_token)).toEqual({ active: false });

    // Signing out is a session revocation: the session's access token is inactive from then on.
    const other = await signedInTokens("openid documents:read", resource);
    expect(await client.tokenIntrospection(config, other.tokens.access_token)).toMatchObject({ active: true });
    const signOut = await system.fetch(`${ENDPOINT.authApi}/sign-out`, {
      method: "POST",
      headers: { Cookie: other.browser.header(), Origin: system.origin, "Content-Type": "application/json" },
      body: "{}",
    });
    expect(signOut.status).toBe(200);
    expect(await client.tokenIntrospection(config, other.tokens.access_token)).toEqual({ active: false });
  });

  it("RFC 7009 §2.1: revoking a refresh token ends the access tokens of its grant at the gateway, the code's and the refresh's; the person's other grant lives on", async () => {
    const resource = `${system.origin}/api`;
    const scope = "openid offline_access documents:read";
    const { browser, tokens } = await signedInTokens(scope, resource);
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token ?? "", { resource });
    // The same person and client again (another device of theirs): consent given, straight back with a code.
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const again = await browser.get(
      client.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT_URI,
        scope,
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: "S256",
        state,
        resource,
      }).href,
    );
    const otherDevice = await client.authorizationCodeGrant(
      config,
      new URL(await redirectTarget(again)),
      { pkceCodeVerifier: verifier, expectedState: state },
      { resource },
    );
    const api = (token: string) => system.fetch("/api/documents", { headers: { Authorization: `Bearer ${token}` } });
    for (const token of [tokens.access_token, refreshed.access_token, otherDevice.access_token]) {
      expect((await api(token)).status).toBe(200);
    }

    // openid-client revokes the current refresh token at the advertised revocation_endpoint.
    await client.tokenRevocation(config, refreshed.refresh_token ?? "");
    // Recorded in the org's object before the 200, which pushes it to the gateway's view (docs/revocation.md).
    for (const token of [tokens.access_token, refreshed.access_token]) {
      await expect.poll(async () => (await api(token)).status, { timeout: 10_000 }).toBe(401);
      const refused = await api(token);
      expect(refused.headers.get("WWW-Authenticate")).toContain('error="invalid_token"');
      expect(refused.headers.get("WWW-Authenticate")).toContain("ERR_TOKEN_REVOKED");
    }
    expect((await api(otherDevice.access_token)).status).toBe(200);
    expect(await client.tokenIntrospection(config, otherDevice.access_token)).toMatchObject({ active: true });
  });

  it("a wrong PKCE verifier is invalid_grant at the one token endpoint (RFC 7636 §4.6)", async () => {
    const { browser } = await signedUpPerson();
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: "openid",
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state,
    });
    const callback = await authorizeInBrowser(browser, url);
    const refused = await client
      .authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: client.randomPKCECodeVerifier(),
        expectedState: state,
      })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(refused).toBeInstanceOf(client.ResponseBodyError);
    expect((refused as client.ResponseBodyError).error).toBe("invalid_grant");
  });
});
