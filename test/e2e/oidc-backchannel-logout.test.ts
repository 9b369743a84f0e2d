// OIDC Back-Channel Logout 1.0 as a Keycloak user expects it: every client
// with a `backchannel_logout_uri` that was issued a token naming a session is
// told when that session ends, including one that holds only an ID token and
// a JWT access token (no token Better Auth stored, so Better Auth's own hook
// leaves it out; workers/authn/src/oidc/backchannel-logout.ts sends it). The
// receivers are real HTTP servers; each token is verified as an RP must
// (§2.6). The back-channel test of test/e2e/openid-client.test.ts covers the
// client Better Auth itself tells (an opaque access token).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import * as client from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { BACKCHANNEL_LOGOUT_EVENT } from "../../shared/contracts/oidc.ts";
import { JWT_TYP, SIGNING_ALG } from "../../shared/contracts/tokens.ts";
import { CookieBrowser } from "../support/cookie-browser.ts";
import { type OperatorCli, operatorCli } from "../support/operator-cli.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

const REDIRECT_URI = "http://localhost:4999/callback";

let system: RunningSystem;
let operator: OperatorCli;
let receiver: Server;
/** Every Logout Token delivery, by the receiver path it was POSTed to. */
const received: { path: string; contentType: string | undefined; logoutToken: string }[] = [];

function receiverUri(path: string): string {
  return `http://127.0.0.1:${(receiver.address() as AddressInfo).port}${path}`;
}

function deliveriesTo(path: string) {
  return received.filter((delivery) => delivery.path === path);
}

/** An operator-registered relying party, discovered by openid-client. */
async function registeredRp(name: string, backchannelLogoutUri?: string) {
  const rp = await operator.json<{ client_id: string; client_secret: string; backchannel_logout_uri: string | null }>(
    ...["oidc-client", "create", "--name", `openid-client RP ${name}`, "--redirect-uri", REDIRECT_URI],
    ...(backchannelLogoutUri ? ["--backchannel-logout-uri", backchannelLogoutUri] : []),
    ...["--scope", "openid documents:read"],
  );
  expect(rp.backchannel_logout_uri).toBe(backchannelLogoutUri ?? null);
  const config = await client.discovery(
    new URL(system.origin),
    rp.client_id,
    { token_endpoint_auth_method: "client_secret_basic" },
    client.ClientSecretBasic(rp.client_secret),
    { execute: [client.allowInsecureRequests] },
  );
  return { clientId: rp.client_id, config };
}

async function signedUpBrowser(): Promise<CookieBrowser> {
  const browser = new CookieBrowser(system);
  const response = await browser.post(ENDPOINT.signUp, {
    name: "Back-channel Person",
    email: `${crypto.randomUUID()}@example.com`,
    password: "correct horse battery staple",
  });
  expect(response.status).toBe(303);
  return browser;
}

/** Authorize (consent: Allow) and redeem in the browser's session; with `resource`, the access token is a JWT Better Auth does not store. */
async function tokensFor(browser: CookieBrowser, rp: client.Configuration, resource?: string) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(rp, {
    redirect_uri: REDIRECT_URI,
    scope: resource ? "openid documents:read" : "openid",
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    ...(resource ? { resource } : {}),
  });
  const authorize = await browser.get(url.href);
  // Node's fetch is not a navigation: Better Auth answers the redirect as JSON (openid-client.test.ts).
  expect(authorize.status).toBe(200);
  const consent = new URL(((await authorize.json()) as { url: string }).url, system.origin);
  expect(consent.pathname).toBe(ENDPOINT.consent);
  const answer = await browser.post(ENDPOINT.consent, { oauth_query: consent.search.slice(1), accept: "true" });
  expect(answer.status).toBe(303);
  return client.authorizationCodeGrant(
    rp,
    new URL(answer.headers.get("Location") ?? ""),
    { pkceCodeVerifier: verifier, expectedState: state },
    resource ? { resource } : undefined,
  );
}

/** RP-initiated logout with the ID token, as the RP's server sends it. */
async function endSession(rp: client.Configuration, idToken: string): Promise<Response> {
  const url = client.buildEndSessionUrl(rp, { id_token_hint: idToken });
  return system.fetch(`${url.pathname}${url.search}`, { headers: { Accept: "application/json" } });
}

/** OIDC Back-Channel Logout 1.0 §2.6: validated as an ID token (alg pinned, iss, aud), `typ` logout+jwt, then its own claims. */
async function verifiedLogoutToken(logoutToken: string, clientId: string) {
  const { payload } = await jwtVerify(logoutToken, createRemoteJWKSet(new URL(`${system.origin}${ENDPOINT.jwks}`)), {
    issuer: system.origin,
    audience: clientId,
    algorithms: [SIGNING_ALG],
    typ: JWT_TYP.logoutToken,
  });
  expect(payload.events).toEqual({ [BACKCHANNEL_LOGOUT_EVENT]: {} });
  expect(payload.nonce).toBeUndefined();
  expect(typeof payload.jti).toBe("string");
  expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBeLessThanOrEqual(120);
  return payload;
}

async function recordedClients(sessionId: string): Promise<string[]> {
  const rows = await system.queryMain<{ client_id: string }>(
    "SELECT client_id FROM oidc_session_client WHERE session_id = ? ORDER BY client_id",
    sessionId,
  );
  return rows.map((row) => row.client_id);
}

beforeAll(async () => {
  receiver = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => {
      body += chunk;
    });
    request.on("end", () => {
      received.push({
        path: request.url ?? "",
        contentType: request.headers["content-type"],
        logoutToken: new URLSearchParams(body).get("logout_token") ?? "",
      });
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  system = await startSystem();
  operator = await operatorCli(system, "oidc-backchannel");
});

afterAll(async () => {
  await system?.close();
  receiver?.close();
});

describe("back-channel logout reaches every client issued a token of the session", () => {
  it("a client holding only an ID token and a JWT access token gets one verifiable Logout Token; one holding a stored token gets one too; one with no URI nothing", async () => {
    const api = `${system.origin}/api`;
    const jwtOnly = await registeredRp("JWT only", receiverUri("/jwt-only"));
    const stored = await registeredRp("stored token", receiverUri("/stored"));
    const silent = await registeredRp("no back-channel");
    const browser = await signedUpBrowser();

    // One browser session, three clients. The first gets no refresh token (no offline_access) and a JWT
    // access token (a resource): nothing Better Auth stores. The second an opaque one, which it stores.
    const jwtTokens = await tokensFor(browser, jwtOnly.config, api);
    expect(jwtTokens.refresh_token).toBeUndefined();
    expect(decodeProtectedHeader(jwtTokens.access_token).typ).toBe(JWT_TYP.accessToken);
    const storedTokens = await tokensFor(browser, stored.config);
    expect(storedTokens.access_token.split(".")).toHaveLength(1);
    const silentTokens = await tokensFor(browser, silent.config, api);
    const sid = jwtTokens.claims()?.sid as string;
    expect(typeof sid).toBe("string");
    expect(storedTokens.claims()?.sid).toBe(sid);
    expect(silentTokens.claims()?.sid).toBe(sid);
    // The issuer recorded each client before it signed.
    expect(await recordedClients(sid)).toEqual([jwtOnly.clientId, silent.clientId, stored.clientId].sort());

    const ended = await endSession(jwtOnly.config, jwtTokens.id_token ?? "");
    expect(ended.status).toBe(200);
    expect((await browser.get(`${system.origin}${ENDPOINT.app}`)).status).toBe(303);

    await expect.poll(() => deliveriesTo("/jwt-only").length, { timeout: 10_000 }).toBe(1);
    await expect.poll(() => deliveriesTo("/stored").length, { timeout: 10_000 }).toBe(1);
    const [delivery] = deliveriesTo("/jwt-only");
    expect(delivery?.contentType).toBe("application/x-www-form-urlencoded");
    const payload = await verifiedLogoutToken(delivery?.logoutToken ?? "", jwtOnly.clientId);
    expect(payload.sid).toBe(sid);
    expect(payload.sub).toBe(jwtTokens.claims()?.sub);
    const storedPayload = await verifiedLogoutToken(deliveriesTo("/stored")[0]?.logoutToken ?? "", stored.clientId);
    expect(storedPayload.sid).toBe(sid);
    // The records went with the session.
    expect(await recordedClients(sid)).toEqual([]);

    // A later session's end, told to the first client only, is the barrier: by the time it arrives the
    // first logout's deliveries are done, and no client got a second token for the same session.
    const later = await signedUpBrowser();
    const laterTokens = await tokensFor(later, jwtOnly.config, api);
    expect((await endSession(jwtOnly.config, laterTokens.id_token ?? "")).status).toBe(200);
    await expect.poll(() => deliveriesTo("/jwt-only").length, { timeout: 10_000 }).toBe(2);
    expect(deliveriesTo("/stored")).toHaveLength(1);
    const sessions = await Promise.all(
      deliveriesTo("/jwt-only").map(async (d) => (await verifiedLogoutToken(d.logoutToken, jwtOnly.clientId)).sid),
    );
    expect(sessions).toEqual([sid, laterTokens.claims()?.sid]);
    // Every delivery went to a registered back-channel URI: the client without one was contacted nowhere.
    expect(received.every((d) => d.path === "/jwt-only" || d.path === "/stored")).toBe(true);
  });

  it("a signed-out person's session reaches the JWT-only client the same way (sign-out, not RP-initiated logout)", async () => {
    const jwtOnly = await registeredRp("JWT only, sign-out", receiverUri("/sign-out"));
    const browser = await signedUpBrowser();
    const tokens = await tokensFor(browser, jwtOnly.config, `${system.origin}/api`);
    const signOut = await system.fetch(`${ENDPOINT.authApi}/sign-out`, {
      method: "POST",
      headers: { Cookie: browser.header(), Origin: system.origin, "Content-Type": "application/json" },
      body: "{}",
    });
    expect(signOut.status).toBe(200);
    await expect.poll(() => deliveriesTo("/sign-out").length, { timeout: 10_000 }).toBe(1);
    const payload = await verifiedLogoutToken(deliveriesTo("/sign-out")[0]?.logoutToken ?? "", jwtOnly.clientId);
    expect(payload.sid).toBe(tokens.claims()?.sid);
    expect(payload.sub).toBe(tokens.claims()?.sub);
  });

  it("an unreachable receiver does not fail the logout (§2.8: best effort)", async () => {
    // A port that was just listening and is closed now: the connection is refused.
    const gone = createServer();
    await new Promise<void>((resolve) => gone.listen(0, "127.0.0.1", resolve));
    const port = (gone.address() as AddressInfo).port;
    await new Promise<void>((resolve) => gone.close(() => resolve()));
    const unreachable = await registeredRp("unreachable", `http://127.0.0.1:${port}/backchannel`);
    const browser = await signedUpBrowser();
    const tokens = await tokensFor(browser, unreachable.config, `${system.origin}/api`);
    const api = () => system.fetch("/api/documents", { headers: { Authorization: `Bearer ${tokens.access_token}` } });
    expect((await api()).status).toBe(200);

    const ended = await endSession(unreachable.config, tokens.id_token ?? "");
    expect(ended.status).toBe(200);
    expect((await browser.get(`${system.origin}${ENDPOINT.app}`)).status).toBe(303);
    // The session's end is still a revocation: the gateway refuses its access token.
    await expect.poll(async () => (await api()).status, { timeout: 10_000 }).toBe(401);
  });
});
