// A password reset on an account whose address was never proven hands it to
// the address's owner alone (workers/authn/src/security/unproven-account-reset.ts):
// whatever its creator set up before the owner ever saw it (a passkey, TOTP,
// a linked outside identity, an API key, an OAuth grant, a session) is gone.
// A verified account's reset keeps its passkeys and second factor.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { envWith, formTo, tokenFromMail } from "./email-helpers.ts";
import { api, cookiesFrom, exchange, get, signUp } from "./helpers.ts";
import { oidc, pkce, REDIRECT_URI } from "./oidc-helpers.ts";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { OIDC_ENDPOINT } from "../../shared/contracts/oidc.ts";
import { enableTotp } from "./two-factor-flow.ts";
import { assertion, registerSoftPasskey, type SoftCredential } from "./webauthn-assertion.ts";

const LOCAL = envWith({});
const OWNERS_PASSWORD = "the address owner's own passphrase";

async function passkeySignIn(credential: SoftCredential) {
  const options = await get("/api/auth/passkey/generate-authenticate-options");
  const { challenge } = (await options.json()) as { challenge: string };
  return api(
    "/passkey/verify-authentication",
    { response: await assertion(credential, challenge, true) },
    { Cookie: cookiesFrom(options) },
  );
}

async function ownerResets(email: string) {
  expect((await formTo(LOCAL, "/forgot-password", { email })).status).toBe(200);
  const token = await tokenFromMail(email, "reset-password");
  const reset = await formTo(LOCAL, "/reset-password", { token, password: OWNERS_PASSWORD });
  expect(reset.status).toBe(200);
}

async function count(sql: string, userId: string) {
  return (await env.DB.prepare(sql).bind(userId).first<{ n: number }>())?.n;
}

describe("a password reset on an account whose address was never proven", { timeout: 60_000 }, () => {
  it("removes the creator's passkey, TOTP, linked identity, API key, OAuth grant and sessions", async () => {
    // The creator: an account under someone else's address, never confirmed
    // (a non-verifying IdP's sign-in, or a local run: each starts a session).
    const { person: creator, client, tokens } = await oidc.issuedTokens();
    const credential = await registerSoftPasskey(creator.userId);
    const { cookie } = await enableTotp(creator.cookie);
    const key = await formTo(
      LOCAL,
      "/account/api-keys/create",
      { name: "kept", owner: "user", scope: "documents:read", days: "30" },
      { Cookie: cookie },
    );
    expect(key.status).toBe(200);
    // As a social sign-in links an identity (the providers cannot be reached from a test).
    await env.DB.prepare(
      `INSERT INTO account (id, account_id, provider_id, user_id, created_at, updated_at)
       VALUES (?, ?, 'github', ?, ?, ?)`,
    )
      .bind(crypto.randomUUID(), `gh-${crypto.randomUUID()}`, creator.userId, Date.now(), Date.now())
      .run();
    expect(await count("SELECT count(*) AS n FROM apikey WHERE reference_id = ?", creator.userId)).toBe(1);

    await ownerResets(creator.email);

    const byPasskey = await passkeySignIn(credential);
    expect(byPasskey.status).toBe(401);
    expect(((await byPasskey.json()) as { code: string }).code).toBe("PASSKEY_NOT_FOUND");
    const refreshed = await oidc.tokenRequest(
      { grant_type: "refresh_token", refresh_token: tokens.refresh_token ?? "", redirect_uri: REDIRECT_URI },
      client,
    );
    expect(refreshed.status).toBe(400);
    expect(((await refreshed.json()) as { error: string }).error).toBe("invalid_grant");
    expect(await (await exchange(cookie)).json()).toEqual({
      error: "invalid_grant",
      error_description: "no live session",
    });
    expect(await count("SELECT count(*) AS n FROM session WHERE user_id = ?", creator.userId)).toBe(0);
    expect(await count("SELECT count(*) AS n FROM two_factor WHERE user_id = ?", creator.userId)).toBe(0);
    expect(await count("SELECT count(*) AS n FROM apikey WHERE reference_id = ?", creator.userId)).toBe(0);
    const providers = await env.DB.prepare("SELECT provider_id AS p FROM account WHERE user_id = ?")
      .bind(creator.userId)
      .all<{ p: string }>();
    expect(providers.results.map((r) => r.p)).toEqual(["credential"]);

    // The owner signs in with their password alone: no creator's second factor stands in the way.
    const signIn = await api("/sign-in/email", { email: creator.email, password: OWNERS_PASSWORD });
    expect(signIn.status).toBe(200);
    expect(await signIn.json()).toMatchObject({ user: { id: creator.userId, twoFactorEnabled: false } });
  });

  it("removes the creator's consents: their client asks the owner again instead of getting a code", async () => {
    // The creator allowed a client (theirs: dynamic registration is open);
    // kept, that consent made the owner's next authorize answer the client
    // with a code, no page shown.
    const { person: creator, client, request } = await oidc.issuedTokens();
    expect(await count("SELECT count(*) AS n FROM oidc_consent WHERE user_id = ?", creator.userId)).toBe(1);

    await ownerResets(creator.email);

    expect(await count("SELECT count(*) AS n FROM oidc_consent WHERE user_id = ?", creator.userId)).toBe(0);
    const signIn = await api("/sign-in/email", { email: creator.email, password: OWNERS_PASSWORD });
    expect(signIn.status).toBe(200);
    const { challenge } = await pkce();
    const params = new URLSearchParams({ ...request, client_id: client.clientId, code_challenge: challenge });
    const authorize = await get(`${OIDC_ENDPOINT.authorize}?${params}`, {
      Cookie: cookiesFrom(signIn),
      Accept: "text/html",
      "Sec-Fetch-Mode": "navigate",
    });
    expect(authorize.status).toBe(302);
    const location = authorize.headers.get("Location") ?? "";
    expect(location.startsWith(REDIRECT_URI)).toBe(false);
    expect(new URL(location, "http://x").pathname).toBe(ENDPOINT.consent);
  });

  it("a verified account's reset keeps its passkeys and second factor", async () => {
    const person = await signUp("Verified");
    await env.DB.prepare("UPDATE user SET email_verified = 1 WHERE id = ?").bind(person.userId).run();
    const credential = await registerSoftPasskey(person.userId);
    await enableTotp(person.cookie);

    await ownerResets(person.email);

    expect((await passkeySignIn(credential)).status).toBe(200);
    const signIn = await api("/sign-in/email", { email: person.email, password: OWNERS_PASSWORD });
    expect(await signIn.json()).toEqual({ twoFactorRedirect: true, twoFactorMethods: ["totp"] });
  });
});
