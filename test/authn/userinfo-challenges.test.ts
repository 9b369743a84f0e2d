// Userinfo's refusals (OIDC Core §5.3.3, RFC 6750 §3) all carry our
// challenge (shared/errors/bearer.ts, `realm` included), also those Better
// Auth decides itself (workers/authn/src/oidc/userinfo-refusals.ts): a
// refresh token presented as the bearer, an unknown opaque token, no token,
// a token without `openid`. And a failure of Better Auth's own JWKS fetch
// while it verifies a JWT access token is `503 temporarily_unavailable`,
// not a bare 500. The tokens are the provider's own, issued through the
// real authorize, consent and token endpoints.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { OIDC_ENDPOINT } from "../../shared/contracts/oidc.ts";
import { ORIGIN } from "./helpers.ts";
import { oidc } from "./oidc-helpers.ts";
import { opaqueAccessToken, userinfo, userinfoByForm } from "./userinfo-helpers.ts";

const UNKNOWN = { error: "invalid_token", error_description: "Invalid access token" };
const UNKNOWN_CHALLENGE = 'realm="mono-auth", error="invalid_token", error_description="Invalid access token"';

async function expectRefusal(response: Response, status: number, challenge: string, body: object) {
  expect(response.status).toBe(status);
  expect(response.headers.get("WWW-Authenticate")).toBe(challenge);
  expect(response.headers.get("Cache-Control")).toBe("no-store");
  expect(await response.json()).toEqual(body);
}

describe("userinfo's refusals carry our RFC 6750 challenge", { timeout: 60_000 }, () => {
  it("a refresh token as the bearer, by header and by form: 401 invalid_token with the realm", async () => {
    const { tokens } = await oidc.issuedTokens();
    const refresh = tokens.refresh_token ?? "";
    expect(refresh).not.toBe("");
    await expectRefusal(await userinfo(refresh), 401, `Bearer ${UNKNOWN_CHALLENGE}`, UNKNOWN);
    const form = new URLSearchParams({ access_token: refresh }).toString();
    await expectRefusal(await userinfoByForm(form), 401, `Bearer ${UNKNOWN_CHALLENGE}`, UNKNOWN);
  });

  it("an unknown opaque token: 401 invalid_token, in the scheme it came with (RFC 9449 §7.1)", async () => {
    const made = "not-a-token-this-provider-issued";
    await expectRefusal(await userinfo(made), 401, `Bearer ${UNKNOWN_CHALLENGE}`, UNKNOWN);
    await expectRefusal(await userinfo(made, "DPoP"), 401, `DPoP ${UNKNOWN_CHALLENGE}`, UNKNOWN);
  });

  it("no token at all: 401 with the realm and no error code (RFC 6750 §3.1)", async () => {
    await expectRefusal(await userinfoByForm(""), 401, 'Bearer realm="mono-auth"', {
      error: "unauthorized",
      error_description: "bearer token required",
    });
  });

  it("a token in the header and in the form at once: 400 invalid_request with the realm (RFC 6750 §2, §3.1), no claims", async () => {
    const person = await oidc.signUp();
    const token = await opaqueAccessToken(person);
    for (const scheme of ["Bearer", "DPoP"] as const) {
      const response = await exports.default.fetch(
        new Request(`${ORIGIN}${OIDC_ENDPOINT.userinfo}`, {
          method: "POST",
          headers: { Authorization: `${scheme} ${token}`, "Content-Type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ access_token: token }).toString(),
        }),
      );
      const text = await response.clone().text();
      expect(text).not.toContain(person.email);
      await expectRefusal(
        response,
        400,
        `${scheme} realm="mono-auth", error="invalid_request", error_description="Multiple access token transport methods are not allowed"`,
        { error: "invalid_request", error_description: "Multiple access token transport methods are not allowed" },
      );
    }
  });

  it("a token without the openid scope: 403 insufficient_scope naming openid, no claims", async () => {
    const person = await oidc.signUp();
    const token = await opaqueAccessToken(person, { scope: "profile email" });
    const response = await userinfo(token);
    expect(response.status).toBe(403);
    expect(response.headers.get("WWW-Authenticate")).toBe(
      'Bearer realm="mono-auth", error="insufficient_scope", error_description="userinfo requires the openid scope", scope="openid"',
    );
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({
      error: "insufficient_scope",
      error_description: "userinfo requires the openid scope",
    });
    expect(text).not.toContain(person.email);
  });
});

describe("userinfo when Better Auth cannot fetch the issuer's keys", { timeout: 60_000 }, () => {
  // Better Auth verifies a JWT access token again with the JWKS it fetches
  // from the issuer's URL (auth/plugins/oauth-provider.ts `remoteUrl`,
  // http://localhost:8787/.well-known/jwks.json). This runtime does not serve
  // that URL (test/e2e/oidc-userinfo-revocation.test.ts reads JWTs where it
  // does): the fetch fails, or another local server answers with keys that are
  // not this run's (they live in this run's own D1). Either way the key source
  // failed Better Auth after our own check verified the token with the
  // issuer's keys over the service binding.
  it("is 503 temporarily_unavailable with Retry-After, by header and by form, and no claims are read", async () => {
    const { person, tokens } = await oidc.issuedTokens();
    expect(tokens.access_token.split(".")).toHaveLength(3);
    const form = new URLSearchParams({ access_token: tokens.access_token }).toString();
    for (const response of [await userinfo(tokens.access_token), await userinfoByForm(form)]) {
      expect(response.status).toBe(503);
      expect(response.headers.get("Cache-Control")).toBe("no-store");
      expect(response.headers.get("Retry-After")).toBe("5");
      const text = await response.text();
      expect(JSON.parse(text)).toEqual({
        error: "temporarily_unavailable",
        error_description: "the issuer could not check this token now, retry",
      });
      expect(text).not.toContain(person.email);
    }
  });
});
