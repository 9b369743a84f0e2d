// The authorization endpoint's own checks before Better Auth
// (workers/authn/src/oidc/authorize-request-checks.ts): a request Better
// Auth would take is refused as invalid_request, at the client's registered
// redirect URI with state and iss (RFC 6749 §4.1.2.1, RFC 9207), or on our
// error page when the client or its redirect URI is itself in doubt.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { cookieName, OWN_COOKIE } from "../../shared/contracts/cookies.ts";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { OIDC_ENDPOINT } from "../../shared/contracts/oidc.ts";
import { ISSUER, oidc, pkce, REDIRECT_URI } from "./oidc-helpers.ts";

const { authorize, browserClient, codeRequest, signUp } = oidc;

const ERROR_PAGE = `${ISSUER}${ENDPOINT.authApi}/error`;
const CHARSET = "code_challenge must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.2)";
const S256 = "an S256 code_challenge is the 43-character base64url SHA-256 digest of the code verifier (RFC 7636 §4.2)";
const REPEATED = "code_challenge must not be repeated (RFC 6749 §3.1)";

function redirectOf(response: Response) {
  const location = response.headers.get("Location") ?? "";
  const url = new URL(location, ISSUER);
  return { status: response.status, target: `${url.origin}${url.pathname}`, fields: url.searchParams, hash: url.hash };
}

/**
 * The authorization request from the person's browser, its parameters as
 * given (a repeated one stays repeated): a navigation GET, the same as a
 * POSTed form (OIDC Core §3.1.2.1), or a script's GET asking for JSON.
 */
function sendAuthorize(params: URLSearchParams, cookie: string, as: "get" | "post" | "json" = "get") {
  const headers = {
    Cookie: cookie,
    Accept: as === "json" ? "application/json" : "text/html",
    "Sec-Fetch-Mode": as === "json" ? "cors" : "navigate",
  };
  const url = `${ISSUER}${OIDC_ENDPOINT.authorize}`;
  return exports.default.fetch(
    as === "post"
      ? new Request(url, {
          method: "POST",
          headers: { ...headers, "Content-Type": "application/x-www-form-urlencoded", Origin: ISSUER },
          body: params,
          redirect: "manual",
        })
      : new Request(`${url}?${params}`, { headers, redirect: "manual" }),
  );
}

async function setUp() {
  const person = await signUp();
  const client = await browserClient();
  const { challenge } = await pkce();
  return { person, client, challenge };
}

/** Refused at the client: 302 to its registered redirect URI, invalid_request with our description, state and iss, no code. */
function expectRefusedAtClient(response: Response, description: string, state: string | undefined) {
  const { status, target, fields, hash } = redirectOf(response);
  expect({ status, target, hash }).toEqual({ status: 302, target: REDIRECT_URI, hash: "" });
  expect(Object.fromEntries(fields)).toEqual({
    error: "invalid_request",
    error_description: description,
    ...(state === undefined ? {} : { state }),
    iss: ISSUER,
  });
  expect(response.headers.get("Cache-Control")).toBe("no-store");
}

describe("RFC 7636 §4.2: a code_challenge that is no challenge is refused at the authorization endpoint", () => {
  it("refuses each malformed challenge with invalid_request at the redirect URI, naming what is wrong", async () => {
    const { person, client, challenge } = await setUp();
    const cases: [string, Record<string, string | undefined>, string][] = [
      ["42 characters", { code_challenge: challenge.slice(0, 42) }, CHARSET],
      ["129 characters", { code_challenge: "a".repeat(129) }, CHARSET],
      ["standard base64 (+ and /)", { code_challenge: `${challenge.slice(0, 41)}+/` }, CHARSET],
      ["padded", { code_challenge: `${challenge}=` }, CHARSET],
      ["a space inside", { code_challenge: `${challenge.slice(0, 20)} ${challenge.slice(21)}` }, CHARSET],
      ["non-ASCII", { code_challenge: `${challenge.slice(0, 42)}é` }, CHARSET],
      ["S256 with 44 unreserved characters", { code_challenge: `${challenge}A` }, S256],
      ["S256 with 128 unreserved characters", { code_challenge: "a".repeat(128) }, S256],
      ["S256 with '.' and '~', not base64url", { code_challenge: `${challenge.slice(0, 41)}.~` }, S256],
      // 32 bytes leave the last of 43 characters two zero bits: 'B' (000001) encodes no digest.
      ["S256 whose last character encodes no 32-byte digest", { code_challenge: `${challenge.slice(0, 42)}B` }, S256],
    ];
    for (const [what, overrides, description] of cases) {
      const request = codeRequest(client.clientId, challenge, overrides);
      const response = await authorize(request, person.cookie);
      expect(redirectOf(response).fields.get("error_description"), what).toBe(description);
      expectRefusedAtClient(response, description, request.state);
    }
  });

  it("refuses a repeated code_challenge (RFC 6749 §3.1), even when both are well-formed", async () => {
    const { person, client, challenge } = await setUp();
    const request = codeRequest(client.clientId, challenge);
    const query = new URLSearchParams(request);
    query.append("code_challenge", (await pkce()).challenge);
    const response = await sendAuthorize(query, person.cookie);
    expectRefusedAtClient(response, REPEATED, request.state);
  });

  it("lets a well-formed S256 challenge through to consent, and digests at either end of the alphabet", async () => {
    const { person, client, challenge } = await setUp();
    for (const value of [challenge, `${"A".repeat(42)}A`, `${"_".repeat(42)}w`]) {
      const response = await authorize(codeRequest(client.clientId, value), person.cookie);
      expect(response.status, value).toBe(302);
      expect(new URL(response.headers.get("Location") ?? "", ISSUER).pathname, value).toBe(ENDPOINT.consent);
    }
  });

  it("leaves a missing challenge and another method to Better Auth's own invalid_request", async () => {
    const { person, client, challenge } = await setUp();
    for (const [overrides, description] of [
      [{ code_challenge: "" }, "pkce is required for this client"],
      [{ code_challenge_method: "plain" }, "code_challenge_method must be one of: S256"],
    ] as const) {
      const { target, fields } = redirectOf(
        await authorize(codeRequest(client.clientId, challenge, overrides), person.cookie),
      );
      expect([target, fields.get("error"), fields.get("error_description")]).toEqual([
        REDIRECT_URI,
        "invalid_request",
        description,
      ]);
    }
  });

  it("refuses before sign-in: a signed-out person is not sent to sign in for a request that cannot succeed", async () => {
    const client = await browserClient();
    const request = codeRequest(client.clientId, "x".repeat(42));
    const response = await authorize(request, "");
    expectRefusedAtClient(response, CHARSET, request.state);
    const kept = cookieName(env.ISSUER, OWN_COOKIE.oidcResume);
    expect(response.headers.getSetCookie().filter((line) => line.startsWith(`${kept}=`))).toEqual([]);
  });

  it("refuses a POSTed authorization request's form the same way (OIDC Core §3.1.2.1)", async () => {
    const { person, client, challenge } = await setUp();
    const request = codeRequest(client.clientId, challenge, { code_challenge: `${challenge}~` });
    const response = await sendAuthorize(new URLSearchParams(request), person.cookie, "post");
    expectRefusedAtClient(response, S256, request.state);
  });

  it("refuses a POSTed form that repeats a parameter (RFC 6749 §3.1), which Better Auth reads as its last value", async () => {
    const { person, client, challenge } = await setUp();
    // Repeated, code_challenge_method escaped the S256 check, and Better Auth kept a challenge no verifier matches.
    const cases: [string, Record<string, string>][] = [
      ["code_challenge_method", { code_challenge: "a".repeat(100) }],
      ["scope", {}],
      ["nonce", {}],
    ];
    for (const [name, fields] of cases) {
      const request = codeRequest(client.clientId, challenge, fields);
      const form = new URLSearchParams(request);
      form.append(name, form.get(name) ?? "x");
      const response = await sendAuthorize(form, person.cookie, "post");
      expectRefusedAtClient(response, `${name} must not be repeated (RFC 6749 §3.1)`, request.state);
    }
  });

  it("lets a repeated resource through (RFC 8707 §2 allows several)", async () => {
    const { person, client, challenge } = await setUp();
    const form = new URLSearchParams(codeRequest(client.clientId, challenge));
    form.append("resource", env.API_AUDIENCE);
    form.append("resource", env.API_AUDIENCE);
    const { fields } = redirectOf(await sendAuthorize(form, person.cookie));
    expect(fields.get("error_description") ?? "").not.toMatch(/repeated/);
  });

  it("answers a caller that asked for JSON as Better Auth does: 200 {redirect, url}", async () => {
    const { person, client, challenge } = await setUp();
    const request = codeRequest(client.clientId, challenge, { code_challenge: "short" });
    const response = await sendAuthorize(new URLSearchParams(request), person.cookie, "json");
    expect(response.status).toBe(200);
    const body = (await response.json()) as { redirect: boolean; url: string };
    expect(body.redirect).toBe(true);
    const url = new URL(body.url);
    expect(`${url.origin}${url.pathname}`).toBe(REDIRECT_URI);
    expect(url.searchParams.get("error")).toBe("invalid_request");
    expect(url.searchParams.get("state")).toBe(request.state);
  });

  describe("OIDC Core §3.1.2.1 prompt=select_account, which this provider cannot serve (one account per browser)", () => {
    const SELECT = "this provider cannot ask for an account choice (OIDC Core §3.1.2.1 select_account)";

    it("is account_selection_required at the client's redirect URI with state and iss, signed in or not, GET or POST", async () => {
      const { person, client, challenge } = await setUp();
      for (const prompt of ["select_account", "login select_account"]) {
        const request = codeRequest(client.clientId, challenge, { prompt });
        for (const [cookie, as] of [
          [person.cookie, "get"],
          ["", "get"],
          [person.cookie, "post"],
        ] as const) {
          const { status, target, fields } = redirectOf(await sendAuthorize(new URLSearchParams(request), cookie, as));
          expect({ prompt, as, status, target }).toEqual({ prompt, as, status: 302, target: REDIRECT_URI });
          expect(Object.fromEntries(fields)).toEqual({
            error: "account_selection_required",
            error_description: SELECT,
            state: request.state,
            iss: ISSUER,
          });
        }
      }
    });

    it("is shown on our error page for a redirect URI in doubt", async () => {
      const { person, client, challenge } = await setUp();
      const request = codeRequest(client.clientId, challenge, {
        prompt: "select_account",
        redirect_uri: "https://evil.example/callback",
      });
      const { target, fields } = redirectOf(await authorize(request, person.cookie));
      expect({ target, fields: Object.fromEntries(fields) }).toEqual({
        target: ERROR_PAGE,
        fields: { error: "account_selection_required", error_description: SELECT },
      });
    });
  });

  describe("RFC 6749 §4.1.2.1: never redirected to a client or redirect URI in doubt, shown on our error page", () => {
    const doubtful: [string, (clientId: string) => Record<string, string | undefined>][] = [
      ["an unknown client_id", () => ({ client_id: "oidc_unknown" })],
      ["no client_id", () => ({ client_id: undefined })],
      ["an unregistered redirect_uri", () => ({ redirect_uri: "https://evil.example/callback" })],
      ["a registered redirect_uri with a trailing slash", () => ({ redirect_uri: `${REDIRECT_URI}/` })],
      ["no redirect_uri", () => ({ redirect_uri: undefined })],
    ];
    for (const [what, overrides] of doubtful) {
      it(`for ${what}`, async () => {
        const { person, client, challenge } = await setUp();
        const request = codeRequest(client.clientId, challenge, {
          code_challenge: "short",
          ...overrides(client.clientId),
        });
        const response = await authorize(request, person.cookie);
        const { status, target, fields } = redirectOf(response);
        expect({ status, target }).toEqual({ status: 302, target: ERROR_PAGE });
        expect(Object.fromEntries(fields)).toEqual({ error: "invalid_request", error_description: CHARSET });
      });
    }

    it("for a disabled client", async () => {
      const { person, client, challenge } = await setUp();
      await env.DB.prepare("UPDATE oidc_client SET disabled = 1 WHERE client_id = ?").bind(client.clientId).run();
      const response = await authorize(
        codeRequest(client.clientId, challenge, { code_challenge: "short" }),
        person.cookie,
      );
      const { target, fields } = redirectOf(response);
      expect([target, fields.get("error")]).toEqual([ERROR_PAGE, "invalid_request"]);
    });
  });
});
