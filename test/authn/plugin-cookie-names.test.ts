// Better Auth's plugins fix their cookies' names in their own code; we write
// them down once (shared/contracts/cookies.ts BETTER_AUTH_PLUGIN_COOKIE) for
// the code that sets or clears them and for docs/storage-schema.md. Each
// name is checked here against the cookie a real flow sets, so an upgrade
// that renames one fails this file instead of silently breaking whatever
// reads the old name.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BETTER_AUTH_PLUGIN_COOKIE, cookieName } from "../../shared/contracts/cookies.ts";
import { OIDC_ENDPOINT } from "../../shared/contracts/oidc.ts";
import { nextTotp } from "../support/totp.ts";
import { api, cookiesFrom, get, signUp, uniqueEmail } from "./helpers.ts";
import { installIdp, registerIdp } from "./sso-idp.ts";
import { enableTotp, passwordSignIn, updatedCookies } from "./two-factor-flow.ts";

/** The names of the cookies a response sets (not those it clears). */
function setNames(response: Response): string[] {
  return response.headers
    .getSetCookie()
    .filter((line) => !/max-age=0/i.test(line))
    .map((line) => line.slice(0, line.indexOf("=")));
}

const named = (cookie: string) => cookieName(env.ISSUER, cookie);

describe("Better Auth plugin cookie names, as its flows set them", () => {
  it("two_factor on a 2FA person's password step, trust_device when the code trusts the device", async () => {
    const person = await signUp("Plugin Cookies");
    const { secret } = await enableTotp(person.cookie);
    const step = await passwordSignIn(person.email);
    expect(setNames(step.response)).toContain(named(BETTER_AUTH_PLUGIN_COOKIE.twoFactor));
    const verified = await api(
      "/two-factor/verify-totp",
      { code: await nextTotp(secret), trustDevice: true },
      { Cookie: updatedCookies("", step.response) },
    );
    expect(verified.status).toBe(200);
    expect(setNames(verified)).toContain(named(BETTER_AUTH_PLUGIN_COOKIE.trustDevice));
  });

  it("the passkey challenge on the authentication options", async () => {
    const options = await get("/api/auth/passkey/generate-authenticate-options");
    expect(options.status).toBe(200);
    expect(setNames(options)).toContain(named(BETTER_AUTH_PLUGIN_COOKIE.passkeyChallenge));
  });

  it("the OAuth state on an SSO sign-in's start", async () => {
    installIdp();
    const owner = await signUp("SSO Cookies");
    const domain = `${crypto.randomUUID().slice(0, 8)}.example`;
    const providerId = await registerIdp(owner.orgId, owner.cookie, domain);
    const started = await api("/sign-in/sso", { providerId, callbackURL: "/app", email: uniqueEmail() });
    expect(started.status).toBe(200);
    expect(setNames(started)).toContain(named(BETTER_AUTH_PLUGIN_COOKIE.oauthState));
  });

  it("the RP-initiated logout confirmation on the provider's question", async () => {
    const person = await signUp("Logout Cookie");
    const asked = await get(OIDC_ENDPOINT.endSession, {
      Accept: "text/html",
      "Sec-Fetch-Mode": "navigate",
      Cookie: person.cookie,
    });
    expect(asked.status).toBe(200);
    expect(setNames(asked)).toContain(named(BETTER_AUTH_PLUGIN_COOKIE.logoutConfirmation));
    expect(cookiesFrom(asked)).not.toBe("");
  });
});
