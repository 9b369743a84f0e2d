import { describe, expect, it } from "vitest";
import { apiTo, call, envWith } from "./email-helpers.ts";
import { clientAddress, ORIGIN, PASSWORD, signUp, uniqueEmail } from "./helpers.ts";

const LOCAL = envWith({});
const APP_ORIGIN = "https://app.example.com";
const WITH_CORS = envWith({ CORS_ALLOWED_ORIGINS: APP_ORIGIN });

/** Spellings browsers read as another origin (WHATWG URL: `\` is `/` in special schemes, `https:evil` is absolute). */
const OPEN_REDIRECTS = [
  "//evil.example",
  "/\\evil.example",
  "\\/evil.example",
  "https:evil.example",
  "https://evil.example/app",
  "http://localhost:8787.evil.example/app",
  "javascript:alert(1)",
];

describe("no open redirects in any callbackURL / redirect parameter", { timeout: 60_000 }, () => {
  const cases: Array<{ path: string; body: (url: string) => Record<string, unknown>; code: string }> = [
    {
      path: "/sign-in/email",
      body: (url) => ({ email: uniqueEmail(), password: PASSWORD, callbackURL: url }),
      code: "INVALID_CALLBACK_URL",
    },
    {
      path: "/sign-up/email",
      body: (url) => ({ name: "R", email: uniqueEmail(), password: PASSWORD, callbackURL: url }),
      code: "INVALID_CALLBACK_URL",
    },
    {
      path: "/request-password-reset",
      body: (url) => ({ email: uniqueEmail(), redirectTo: url }),
      code: "INVALID_REDIRECT_URL",
    },
    {
      path: "/send-verification-email",
      body: (url) => ({ email: uniqueEmail(), callbackURL: url }),
      code: "INVALID_CALLBACK_URL",
    },
  ];
  for (const { path, body, code } of cases) {
    it(`${path} refuses every spelling of another origin with 403 ${code}`, async () => {
      for (const url of OPEN_REDIRECTS) {
        const response = await apiTo(LOCAL, path, body(url));
        expect({ url, status: response.status }).toEqual({ url, status: 403 });
        expect(((await response.json()) as { code: string }).code).toBe(code);
      }
      // A path of our own is fine.
      expect((await apiTo(LOCAL, path, body("/app"))).status).not.toBe(403);
    });
  }

  it("verify-email (GET) refuses a foreign callbackURL", async () => {
    for (const url of OPEN_REDIRECTS) {
      const response = await call(
        LOCAL,
        new Request(`${ORIGIN}/api/auth/verify-email?token=x&callbackURL=${encodeURIComponent(url)}`, {
          redirect: "manual",
        }),
      );
      expect({ url, status: response.status }).toEqual({ url, status: 403 });
      expect(((await response.json()) as { code: string }).code).toBe("INVALID_CALLBACK_URL");
    }
  });
});

describe("trusted origins on every state change (CSRF)", { timeout: 60_000 }, () => {
  it("refuses a cookie-less POST from another origin (login CSRF) with 403 INVALID_ORIGIN", async () => {
    for (const path of ["/sign-up/email", "/sign-in/email", "/request-password-reset"]) {
      const response = await apiTo(
        LOCAL,
        path,
        { name: "X", email: uniqueEmail(), password: PASSWORD },
        { Origin: "https://evil.example" },
      );
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({ code: "INVALID_ORIGIN", message: "Invalid origin" });
    }
  });

  it("refuses a POST with cookies and no Origin with 403 MISSING_OR_NULL_ORIGIN", async () => {
    const person = await signUp("Csrf");
    for (const origin of [undefined, "null"]) {
      const response = await call(
        LOCAL,
        new Request(`${ORIGIN}/api/auth/sign-out`, {
          method: "POST",
          headers: {
            "Content-Type": "application/json",
            Cookie: person.cookie,
            "cf-connecting-ip": clientAddress(),
            ...(origin ? { Origin: origin } : {}),
          },
          body: "{}",
        }),
      );
      expect(response.status).toBe(403);
      expect(((await response.json()) as { code: string }).code).toBe("MISSING_OR_NULL_ORIGIN");
    }
  });

  it("accepts a configured TRUSTED_ORIGINS entry", async () => {
    const trusting = envWith({ TRUSTED_ORIGINS: APP_ORIGIN });
    const response = await apiTo(trusting, "/request-password-reset", { email: uniqueEmail() }, { Origin: APP_ORIGIN });
    expect(response.status).toBe(200);
  });
});

describe("CORS", { timeout: 60_000 }, () => {
  function preflight(target: AuthnEnv, path: string, origin: string) {
    return call(
      target,
      new Request(`${ORIGIN}/api/auth${path}`, {
        method: "OPTIONS",
        headers: { Origin: origin, "Access-Control-Request-Method": "POST" },
      }),
    );
  }

  it("answers no cross-origin caller by default", async () => {
    const response = await preflight(LOCAL, "/get-session", APP_ORIGIN);
    // No CORS answer: the preflight is what any OPTIONS is there, a method the API does not take.
    expect(response.status).toBe(405);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  it("answers only the allowlisted origin, with credentials, and never at the authorization endpoint", async () => {
    const allowed = await preflight(WITH_CORS, "/get-session", APP_ORIGIN);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("Access-Control-Allow-Origin")).toBe(APP_ORIGIN);
    expect(allowed.headers.get("Access-Control-Allow-Credentials")).toBe("true");

    const other = await preflight(WITH_CORS, "/get-session", "https://evil.example");
    expect(other.headers.get("Access-Control-Allow-Origin")).toBeNull();

    const authorize = await preflight(WITH_CORS, "/oauth2/authorize", APP_ORIGIN);
    expect(authorize.headers.get("Access-Control-Allow-Origin")).toBeNull();

    const read = await call(
      WITH_CORS,
      new Request(`${ORIGIN}/api/auth/get-session`, { headers: { Origin: APP_ORIGIN } }),
    );
    expect(read.status).toBe(200);
    expect(read.headers.get("Access-Control-Allow-Origin")).toBe(APP_ORIGIN);
    expect(read.headers.get("Vary")).toContain("Origin");
  });
});
