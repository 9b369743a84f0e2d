// What an org's IdP may make the Worker wait for and read
// (workers/authn/src/sso/upstream-fetch.ts): every fetch the SSO plugin makes
// (token, userinfo, JWKS; discovery too, which only a trusted origin reaches)
// is cut off after the timeout (SSO_UPSTREAM_TIMEOUT_MS, 1 s in this project:
// vitest.config.ts) and refused past 1 MiB, and an ID token without `exp`
// (OIDC Core §2, §3.1.3.7) signs nobody in. Driven through
// @better-auth/sso's real callback with a scripted upstream IdP (sso-idp.ts).
// Without the limits a scripted IdP that never answers ends in workerd's
// hung-request error only because nothing else is pending; a real IdP's open
// socket would hold the Worker.
import { env } from "cloudflare:workers";
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from "jose";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { SSO_UPSTREAM_ERROR, SSO_UPSTREAM_MAX_BYTES } from "../../workers/authn/src/sso/upstream-fetch.ts";
import { signUp } from "./helpers.ts";
import { IDP_ISSUER, type IdpAnswer, type IdpPerson, registerIdp, scriptIdp, signInThroughIdp } from "./sso-idp.ts";

const CLIENT_ID = "mono-auth";
/** Where the plugin sends a failed callback when the sign-in named no errorCallbackURL: Better Auth's error page. */
const ERROR_PAGE = "/api/auth/error";
const KID = "idp-key-1";
let privateKey: CryptoKey;
let publicJwk: Record<string, unknown>;

beforeAll(async () => {
  const pair = await generateKeyPair("RS256");
  privateKey = pair.privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: KID, alg: "RS256", use: "sig" };
});

afterEach(() => scriptIdp());

function json(body: unknown): Response {
  return new Response(JSON.stringify(body), { headers: { "Content-Type": "application/json" } });
}

/** A JSON document of just over the cap, streamed without Content-Length. */
function oversized(fields: Record<string, unknown>): Response {
  const head = new TextEncoder().encode(`${JSON.stringify(fields).slice(0, -1)},"padding":"`);
  const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
  const tail = new TextEncoder().encode('"}');
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(head);
    },
    pull(controller) {
      if (sent > SSO_UPSTREAM_MAX_BYTES) {
        controller.enqueue(tail);
        controller.close();
        return;
      }
      controller.enqueue(chunk);
      sent += chunk.byteLength;
    },
  });
  return new Response(body, { headers: { "Content-Type": "application/json" } });
}

/** The IdP's ID token for `who`, signed with its key, with `claims` over the usual ones (`undefined` leaves one out). */
async function idToken(who: IdpPerson | undefined, claims: Partial<Record<"exp" | "iat", number | undefined>>) {
  const now = Math.floor(Date.now() / 1000);
  const payload: JWTPayload = { sub: who?.sub, email: who?.email, iat: now, exp: now + 300, ...claims };
  for (const key of Object.keys(payload) as (keyof JWTPayload)[]) if (payload[key] === undefined) delete payload[key];
  return new SignJWT(payload)
    .setProtectedHeader({ alg: "RS256", kid: KID, typ: "JWT" })
    .setIssuer(IDP_ISSUER)
    .setAudience(CLIENT_ID)
    .sign(privateKey);
}

/** An IdP whose token endpoint answers with an ID token carrying `claims`, its JWKS the key that signed it. */
let currentScript: Record<string, IdpAnswer> = {};
function idpWithIdToken(claims: Partial<Record<"exp" | "iat", number | undefined>>) {
  currentScript = {
    "/token": async (who) =>
      json({ access_token: `at-${crypto.randomUUID()}`, token_type: "Bearer", id_token: await idToken(who, claims) }),
    "/jwks": () => json({ keys: [publicJwk] }),
  };
  scriptIdp(currentScript);
}

/** An org with a verified-domain provider, and a person of that domain for the IdP to assert. */
async function orgWithIdp() {
  const owner = await signUp("Owner");
  const domain = `acme-${crypto.randomUUID().slice(0, 8)}.example`;
  const providerId = await registerIdp(owner.orgId, owner.cookie, domain);
  return { providerId, person: { sub: crypto.randomUUID(), email: `ann@${domain}` } };
}

/** Where the callback sent the browser, with the plugin's `error` and `error_description`. */
function redirectOf(response: Response) {
  const location = new URL(response.headers.get("Location") ?? "", env.ISSUER);
  return {
    status: response.status,
    path: location.pathname,
    error: location.searchParams.get("error"),
    description: location.searchParams.get("error_description"),
  };
}

async function accountOf(email: string) {
  return env.DB.prepare("SELECT id FROM user WHERE email = ?").bind(email).first();
}

/** The plugin's refusal, our code in `error_description`: to the error page, no session, no account. */
async function expectRefused(response: Response, email: string, code: string) {
  expect(redirectOf(response)).toEqual({ status: 302, path: ERROR_PAGE, error: "invalid_provider", description: code });
  expect(response.headers.getSetCookie().some((c) => c.includes("session_token="))).toBe(false);
  expect(await accountOf(email)).toBeNull();
}

describe("an org's IdP cannot hold or balloon the Worker", { timeout: 30_000 }, () => {
  it("a token endpoint that never answers is cut off: invalid_provider / SSO_UPSTREAM_TIMEOUT, nobody signed in", async () => {
    const { providerId, person } = await orgWithIdp();
    scriptIdp({ "/token": () => new Promise<Response>(() => {}) });
    // A hang would outlast the test's timeout: its answer proves the cut-off.
    const response = await signInThroughIdp(providerId, person);
    await expectRefused(response, person.email, SSO_UPSTREAM_ERROR.timeout);
  });

  it("a userinfo endpoint that sends its headers and then stalls is cut off the same way", async () => {
    const { providerId, person } = await orgWithIdp();
    scriptIdp({
      "/userinfo": () =>
        new Response(new ReadableStream({ start: (c) => c.enqueue(new TextEncoder().encode("{")) }), {
          headers: { "Content-Type": "application/json" },
        }),
    });
    const response = await signInThroughIdp(providerId, person);
    await expectRefused(response, person.email, SSO_UPSTREAM_ERROR.timeout);
  });

  it("a token answer over 1 MiB (streamed, no Content-Length) is refused: SSO_UPSTREAM_TOO_LARGE", async () => {
    const { providerId, person } = await orgWithIdp();
    scriptIdp({ "/token": () => oversized({ access_token: `at-${crypto.randomUUID()}`, token_type: "Bearer" }) });
    const response = await signInThroughIdp(providerId, person);
    await expectRefused(response, person.email, SSO_UPSTREAM_ERROR.tooLarge);
  });

  it("a userinfo answer over 1 MiB is refused: SSO_UPSTREAM_TOO_LARGE", async () => {
    const { providerId, person } = await orgWithIdp();
    scriptIdp({ "/userinfo": (who) => oversized({ ...who, name: "Ann" }) });
    const response = await signInThroughIdp(providerId, person);
    await expectRefused(response, person.email, SSO_UPSTREAM_ERROR.tooLarge);
  });

  it("a JWKS over 1 MiB is refused: SSO_UPSTREAM_TOO_LARGE, the ID token is never trusted", async () => {
    const { providerId, person } = await orgWithIdp();
    idpWithIdToken({});
    scriptIdp({ ...currentScript, "/jwks": () => oversized({ keys: [publicJwk] }) });
    const response = await signInThroughIdp(providerId, person);
    await expectRefused(response, person.email, SSO_UPSTREAM_ERROR.tooLarge);
  });
});

describe("the IdP's ID token must carry exp and a sane iat (OIDC Core §2, §3.1.3.7)", { timeout: 30_000 }, () => {
  it("an ID token without exp signs nobody in: invalid_provider / SSO_ID_TOKEN_EXP_REQUIRED", async () => {
    const { providerId, person } = await orgWithIdp();
    idpWithIdToken({ exp: undefined });
    const response = await signInThroughIdp(providerId, person);
    await expectRefused(response, person.email, SSO_UPSTREAM_ERROR.idTokenExpRequired);
  });

  it.each([
    ["without iat", { iat: undefined }],
    [
      "issued an hour from now",
      { iat: Math.floor(Date.now() / 1000) + 3600, exp: Math.floor(Date.now() / 1000) + 7200 },
    ],
    ["expiring before it was issued", { iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) - 1 }],
  ])("an ID token %s signs nobody in: invalid_provider / SSO_ID_TOKEN_IAT_INVALID", async (_name, claims) => {
    const { providerId, person } = await orgWithIdp();
    idpWithIdToken(claims);
    const response = await signInThroughIdp(providerId, person);
    await expectRefused(response, person.email, SSO_UPSTREAM_ERROR.idTokenIatInvalid);
  });

  it("a well-behaved IdP with a signed ID token (exp, iat) still signs the person in", async () => {
    const { providerId, person } = await orgWithIdp();
    idpWithIdToken({});
    const response = await signInThroughIdp(providerId, person);
    expect(redirectOf(response)).toEqual({ status: 302, path: "/app", error: null, description: null });
    expect(response.headers.getSetCookie().some((c) => c.includes("session_token="))).toBe(true);
    expect(await accountOf(person.email)).not.toBeNull();
  });
});
