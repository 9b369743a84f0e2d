// RFC 7521 §4.2: beside a `private_key_jwt` assertion, `client_id` is
// optional, and a Client ID Metadata Document client (the harness's https
// host, test/support/runtime/cimd-host `/clients/private-key-jwt`) may leave
// it out. A refresh token used after it was rotated away has leaked (RFC 9700
// §4.14.2), and a code used twice likewise (RFC 6749 §4.1.2): Better Auth
// ends the grant's stored tokens, and the token Worker cuts off its JWT
// access tokens, the thief's from the successor included. Sent with the
// assertion alone, neither named a client to the token Worker, so the
// access tokens passed the gateway until the cron's pass (code) or for
// their whole lifetime (refresh). On the whole system, through the gateway.
import { importJWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { DEMO_MCP_SERVER, mcpResource } from "../../shared/contracts/mcp.ts";
import { OIDC_ENDPOINT } from "../../shared/contracts/oidc.ts";
import { CLIENT_ASSERTION_TYPE_JWT_BEARER } from "../../shared/contracts/tokens.ts";
import { CookieBrowser } from "../support/cookie-browser.ts";
import { pkcePair } from "../support/pkce.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

const CLIENT_ID = "https://client.example.test/clients/private-key-jwt";
const REDIRECT_URI = "https://client.example.test/callback";
const SCOPE = "openid offline_access";
const REFUSED_WITHIN = { timeout: 30_000, interval: 100 };

/** The private half of the host's `/clients/private-key-jwt` key: a test key. */
const ASSERTION_KEY = {
  kty: "EC",
  crv: "P-256",
  x: "k5f2JaWJQVqUCGVdtbKF-IeAVW30XzGqOhOG2GlSFZo",
  y: "8Cg3uIE567myZQ15VQHZgizy9lbuVrYNDJJzx9TFggA",
  d: "9qLnVlMgIHVPMrloyLdVJ09dCqelNCcqYP5ylBCS0KQ",
};

let system: RunningSystem;
let issuer: string;
let resource: string;

beforeAll(async () => {
  system = await startSystem({ cimdHost: true });
  const discovery = await system.fetch(ENDPOINT.openIdConfiguration);
  issuer = ((await discovery.json()) as { issuer: string }).issuer;
  resource = mcpResource(issuer, DEMO_MCP_SERVER.name);
}, 120_000);
afterAll(() => system?.close());

/** RFC 7523 §3: iss = sub = the client, aud = the issuer, a fresh jti. */
async function assertion(): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: "ES256", kid: "cimd-test-assertion" })
    .setIssuer(CLIENT_ID)
    .setSubject(CLIENT_ID)
    .setAudience(issuer)
    .setJti(crypto.randomUUID())
    .setIssuedAt()
    .setExpirationTime("60s")
    .sign(await importJWK(ASSERTION_KEY, "ES256"));
}

/** A token request authenticated by the assertion alone: no `client_id` (RFC 7521 §4.2). */
async function assertedGrant(fields: Record<string, string>): Promise<Response> {
  return system.fetch(ENDPOINT.token, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      ...fields,
      client_assertion_type: CLIENT_ASSERTION_TYPE_JWT_BEARER,
      client_assertion: await assertion(),
    }),
  });
}

/** A person signs up, authorizes the document client for the demo MCP server and consents: the code's fields. */
async function authorizedCode(): Promise<Record<string, string>> {
  const browser = new CookieBrowser(system);
  const signUp = await browser.post(ENDPOINT.signUp, {
    name: "Asserting Person",
    email: `${crypto.randomUUID()}@example.com`,
    password: "correct horse battery staple",
  });
  expect(signUp.status).toBe(303);
  const { verifier, challenge } = await pkcePair();
  const query = new URLSearchParams({
    response_type: "code",
    client_id: CLIENT_ID,
    redirect_uri: REDIRECT_URI,
    scope: SCOPE,
    state: "s",
    code_challenge: challenge,
    code_challenge_method: "S256",
    resource,
    prompt: "consent",
  });
  const authorize = await browser.get(`${system.origin}${OIDC_ENDPOINT.authorize}?${query}`);
  const target = new URL(
    authorize.status === 302
      ? (authorize.headers.get("Location") ?? "")
      : (((await authorize.json()) as { url?: string }).url ?? ""),
    system.origin,
  );
  expect(target.pathname).toBe(ENDPOINT.consent);
  const consent = await browser.post(ENDPOINT.consent, { oauth_query: target.search.slice(1), accept: "true" });
  expect(consent.status).toBe(303);
  const callback = new URL(consent.headers.get("Location") ?? "");
  expect(`${callback.origin}${callback.pathname}`).toBe(REDIRECT_URI);
  return {
    grant_type: "authorization_code",
    code: callback.searchParams.get("code") ?? "",
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
    resource,
  };
}

/** "allowed", or the gateway's status and stable code, for a call to the demo MCP server. */
async function gateway(token: string): Promise<string> {
  const response = await system.fetch(new URL(resource).pathname, {
    method: "POST",
    headers: {
      Authorization: `Bearer ${token}`,
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
  });
  if (response.status !== 401) {
    await response.body?.cancel();
    return "allowed";
  }
  const body = (await response.json()) as { error?: string; error_description?: string };
  return `${response.status} ${body.error_description?.split(":")[0] ?? body.error}`;
}

interface Issued {
  access_token: string;
  refresh_token?: string;
}

describe("a private_key_jwt client's grant replayed with the assertion alone", { timeout: 120_000 }, () => {
  it("a refresh token used after its rotation cuts off the successor's access token at once", async () => {
    const first = await assertedGrant(await authorizedCode());
    expect(first.status, await first.clone().text()).toBe(200);
    const issued = (await first.json()) as Issued;
    expect(issued.refresh_token).toBeTruthy();
    const rotated = await assertedGrant({ grant_type: "refresh_token", refresh_token: issued.refresh_token ?? "" });
    expect(rotated.status, await rotated.clone().text()).toBe(200);
    const successor = (await rotated.json()) as Issued;
    expect(await gateway(successor.access_token)).toBe("allowed");

    const reuse = await assertedGrant({ grant_type: "refresh_token", refresh_token: issued.refresh_token ?? "" });
    expect(reuse.status).toBe(400);
    expect(((await reuse.json()) as { error: string }).error).toBe("invalid_grant");
    await expect.poll(() => gateway(successor.access_token), REFUSED_WITHIN).toBe("401 ERR_TOKEN_REVOKED");
  });

  it("a code sent again cuts off what its redemption yielded at once", async () => {
    const fields = await authorizedCode();
    const first = await assertedGrant(fields);
    expect(first.status, await first.clone().text()).toBe(200);
    const issued = (await first.json()) as Issued;
    expect(await gateway(issued.access_token)).toBe("allowed");

    const replay = await assertedGrant(fields);
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { error: string }).error).toBe("invalid_grant");
    await expect.poll(() => gateway(issued.access_token), REFUSED_WITHIN).toBe("401 ERR_TOKEN_REVOKED");
  });
});
