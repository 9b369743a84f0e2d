// Userinfo's own revocation check (workers/authn/src/oidc/userinfo-revocation.ts)
// where it cannot ask an org's object: an opaque access token of no org
// (the person had no active org when they consented) is refused as RFC
// 6750 §3.1 `401 invalid_token`, since nothing recorded in any org could
// ever revoke it; and claims the org's object refuses to judge are
// `503 temporarily_unavailable`, never a pass to Better Auth. The tokens
// are the provider's own, issued through the real authorize, consent and
// token endpoints; the object is the real one beside this Worker.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { oidc } from "./oidc-helpers.ts";
import { opaqueAccessToken, storedTokenHash, userinfo, userinfoByForm } from "./userinfo-helpers.ts";

/** RFC 6750 §2.2: the token in a form body. */
const byForm = (token: string) => userinfoByForm(new URLSearchParams({ access_token: token }).toString());

const CLAIM_MISSING_CHALLENGE =
  'Bearer realm="mono-auth", error="invalid_token", error_description="ERR_TOKEN_CLAIM_MISSING: token lacks a required claim"';

describe("userinfo and an opaque access token of no org", { timeout: 60_000 }, () => {
  it("is 401 invalid_token ERR_TOKEN_CLAIM_MISSING, by header and by form, while the same person's org token reads", async () => {
    const person = await oidc.signUp();
    const withOrg = await opaqueAccessToken(person);
    expect((await userinfo(withOrg)).status).toBe(200);

    // A row of no org, as a grant consented with no active org left it before the token endpoint
    // refused such grants (test/authn/oidc-opaque-grant-org.test.ts): written so, since none is issued now.
    const orgless = await opaqueAccessToken(person);
    await env.DB.prepare("UPDATE oidc_access_token SET reference_id = NULL WHERE token = ?")
      .bind(await storedTokenHash(orgless))
      .run();

    for (const response of [await userinfo(orgless), await byForm(orgless)]) {
      expect(response.status).toBe(401);
      expect(response.headers.get("WWW-Authenticate")).toBe(CLAIM_MISSING_CHALLENGE);
      expect(await response.json()).toEqual({
        error: "invalid_token",
        error_description: "ERR_TOKEN_CLAIM_MISSING: token lacks a required claim",
      });
    }
    expect((await userinfo(withOrg)).status).toBe(200);
  });
});

describe("userinfo when the org's object cannot judge the token", { timeout: 60_000 }, () => {
  // The object refuses claims without a finite `iat` (workers/org-state/src/revocable-claims.ts):
  // a row whose creation time is not a number (written around Better Auth) gives one.
  it("is 503 temporarily_unavailable, by header and by form, and no claims are read", async () => {
    const person = await oidc.signUp();
    const token = await opaqueAccessToken(person);
    expect((await userinfo(token)).status).toBe(200);
    await env.DB.prepare("UPDATE oidc_access_token SET created_at = 'yesterday' WHERE token = ?")
      .bind(await storedTokenHash(token))
      .run();

    for (const response of [await userinfo(token), await byForm(token)]) {
      expect(response.status).toBe(503);
      const text = await response.text();
      expect(JSON.parse(text)).toMatchObject({ error: "temporarily_unavailable" });
      expect(text).not.toContain(person.email);
      expect(text).not.toContain("RangeError");
    }
  });
});
