// openid-client 6 (unmodified) as a relying party of the whole system (see
// openid-client-code-flow.test.ts), ending sessions: RP-initiated logout
// through its end-session URL (with a forged hint as the control), and
// OIDC Back-Channel Logout 1.0 to a real receiver for the client Better Auth
// itself tells (an opaque access token).
import { decodeJwt, decodeProtectedHeader, importJWK, type JWK, SignJWT } from "jose";
import * as client from "openid-client";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { JWT_TYP, SIGNING_ALG } from "../../shared/contracts/tokens.ts";
import { unseal } from "../../workers/token/src/keys/seal.ts";
import { logoutReceiver, registeredRp, verifiedLogoutToken } from "../support/backchannel-logout.ts";
import { openidClientRp, POST_LOGOUT_URI, redirectTarget } from "../support/openid-client-rp.ts";
import { TEST_SECRETS } from "../support/secrets.ts";

const rp = openidClientRp();

/** Any claims under `typ`, signed with the issuer's current key (read from D1 and unsealed as the token Worker does). */
async function signWithIssuerKey(typ: string, claims: Record<string, unknown>): Promise<string> {
  const [row] = await rp.system.queryMain<{ kid: string; sealed: string }>(
    "SELECT kid, private_jwk_sealed AS sealed FROM signing_key WHERE status = 'current'",
  );
  if (!row) throw new Error("no current signing key");
  const jwk = JSON.parse(await unseal(TEST_SECRETS.KEY_ENCRYPTION_SECRET, row.kid, row.sealed)) as JWK;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: SIGNING_ALG, typ, kid: row.kid })
    .sign(await importJWK(jwk, SIGNING_ALG));
}

describe("openid-client 6 against the browser OpenID provider: RP-initiated and back-channel logout", () => {
  it("RP-initiated logout: its end-session URL with the ID token ends the session, revokes its tokens, returns to the RP", async () => {
    const { browser, tokens } = await rp.signedInTokens("openid documents:read", `${rp.system.origin}/api`);
    // Better Auth puts the session in the ID token (`sid`) for a client that may end it.
    expect(typeof tokens.claims()?.sid).toBe("string");
    const api = () =>
      rp.system.fetch("/api/documents", { headers: { Authorization: `Bearer ${tokens.access_token}` } });
    expect((await api()).status).toBe(200);

    const logoutState = client.randomState();
    const logout = await browser.get(
      client.buildEndSessionUrl(rp.config, {
        id_token_hint: tokens.id_token ?? "",
        post_logout_redirect_uri: POST_LOGOUT_URI,
        state: logoutState,
      }).href,
    );
    // The hint names this browser's session: ended without asking, back to the registered URI with `state`.
    const back = new URL(await redirectTarget(logout));
    expect(`${back.origin}${back.pathname}`).toBe(POST_LOGOUT_URI);
    expect(back.searchParams.get("state")).toBe(logoutState);
    expect((await browser.get(`${rp.system.origin}${ENDPOINT.app}`)).status).toBe(303);
    // Ending the session is a revocation of its tokens (docs/revocation.md): the gateway refuses this one.
    await expect.poll(async () => (await api()).status, { timeout: 10_000 }).toBe(401);
  });

  it("RP-initiated logout: a JWT our key signed that is not an ID token (typ at+jwt) ends nothing, however it is spelled", async () => {
    // Better Auth alone takes any JWT of the issuer's key that names the session (`sid`) and the client
    // (`aud`); workers/authn/src/oidc/logout-hint.ts pins typ JWT first. Both hints below are signed with
    // the issuer's real current key: the one with an ID token's header is the control.
    const { browser, tokens } = await rp.signedInTokens("openid");
    const idClaims = decodeJwt(tokens.id_token ?? "");
    const { iss, sub, aud, sid } = idClaims;
    const now = Math.floor(Date.now() / 1000);
    const forge = (typ: string) => signWithIssuerKey(typ, { iss, sub, aud, sid, iat: now, exp: now + 300 });
    const endSession = (hint: string) =>
      rp.system.fetch(`${ENDPOINT.authApi}/oauth2/end-session?${new URLSearchParams({ id_token_hint: hint })}`, {
        headers: { Accept: "application/json" },
      });
    const signedIn = async () => (await browser.get(`${rp.system.origin}${ENDPOINT.app}`)).status === 200;

    // A refused hint is taken out (RP-Initiated Logout 1.0 §4): no cookie, no hint, so nothing to confirm.
    const forged = await forge(JWT_TYP.accessToken);
    const refused = await endSession(forged);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: "invalid_request" });
    expect(await signedIn()).toBe(true);
    // Spellings of the same forged hint that jose still verifies (base64url padding or whitespace in the
    // signature), and a form body that also parses as JSON: each is read as Better Auth reads it, and refused.
    for (const spelling of [`${forged}==`, `${forged.slice(0, -4)} ${forged.slice(-4)}`]) {
      const respelled = await endSession(spelling);
      expect({ status: respelled.status, body: await respelled.json() }).toMatchObject({
        status: 400,
        body: { error: "invalid_request" },
      });
      expect(await signedIn()).toBe(true);
    }
    const disguised = await rp.system.fetch(`${ENDPOINT.authApi}/oauth2/end-session`, {
      method: "POST",
      headers: {
        Accept: "application/json",
        Origin: rp.system.origin,
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: `{"x":"&id_token_hint=${forged}&y="}`,
    });
    expect({ status: disguised.status, body: await disguised.json() }).toMatchObject({
      status: 400,
      body: { error: "invalid_request" },
    });
    expect(await signedIn()).toBe(true);

    const control = await endSession(await forge("JWT"));
    expect(control.status).toBe(200);
    expect(await signedIn()).toBe(false);
  });

  it("RP-initiated logout to a URI the client did not register ends the session but sends the browser nowhere", async () => {
    const { browser, tokens } = await rp.signedInTokens("openid");
    const logout = await browser.get(
      client.buildEndSessionUrl(rp.config, {
        id_token_hint: tokens.id_token ?? "",
        post_logout_redirect_uri: "https://evil.example/landing",
      }).href,
    );
    expect(logout.headers.get("Location")).toBeNull();
    expect(await logout.text()).not.toContain("evil.example");
    expect((await browser.get(`${rp.system.origin}${ENDPOINT.app}`)).status).toBe(303);
  });

  it("RP-initiated logout: the ID token alone, sent without the browser's cookie, ends its session without asking", async () => {
    // What the RP's server (or anyone else holding the ID token) can do: Better Auth asks only a
    // browser whose own session is another one; with no session cookie it ends the hinted session.
    const { browser, tokens } = await rp.signedInTokens("openid");
    expect((await browser.get(`${rp.system.origin}${ENDPOINT.app}`)).status).toBe(200);
    const endSession = client.buildEndSessionUrl(rp.config, { id_token_hint: tokens.id_token ?? "" });
    const ended = await rp.system.fetch(`${endSession.pathname}${endSession.search}`, {
      headers: { Accept: "application/json" },
    });
    expect(ended.status).toBe(200);
    expect((await browser.get(`${rp.system.origin}${ENDPOINT.app}`)).status).toBe(303);
  });

  it("back-channel logout: a session's end POSTs a Logout Token to the client's registered URI, verifiable as the spec says", async () => {
    // The RP's back-channel endpoint: a real HTTP server the authn Worker POSTs to.
    const receiver = await logoutReceiver();
    try {
      const backchannel = receiver.uri("/backchannel");
      const backchannelRp = await registeredRp(rp.system, rp.operator, "with back-channel logout", backchannel);
      const rpConfig = backchannelRp.config;
      expect(rpConfig.serverMetadata().backchannel_logout_supported).toBe(true);
      expect(rpConfig.serverMetadata().backchannel_logout_session_supported).toBe(true);

      const { tokens } = await rp.signedInTokens("openid", undefined, rpConfig);
      const idClaims = tokens.claims();
      const endSession = client.buildEndSessionUrl(rpConfig, { id_token_hint: tokens.id_token ?? "" });
      const ended = await rp.system.fetch(`${endSession.pathname}${endSession.search}`, {
        headers: { Accept: "application/json" },
      });
      expect(ended.status).toBe(200);

      await expect.poll(() => receiver.received.length).toBe(1);
      const [delivery] = receiver.received;
      expect(delivery?.contentType).toBe("application/x-www-form-urlencoded");
      const logoutToken = delivery?.logoutToken ?? "";
      // OIDC Back-Channel Logout 1.0 §2.6: the RP validates it as an ID token, then its own rules (the events
      // claim, no nonce, a jti, a short life: verifiedLogoutToken).
      const payload = await verifiedLogoutToken(rp.system, logoutToken, backchannelRp.clientId);
      expect(decodeProtectedHeader(logoutToken).alg).toBe(SIGNING_ALG);
      expect(payload.sid).toBe(idClaims?.sid);
      expect(payload.sub).toBe(idClaims?.sub);

      // Turned off, it sends nothing more.
      const off = await rp.operator.json<{ backchannel_logout_uri: string | null }>(
        ...["oidc-client", "update", "--id", backchannelRp.clientId, "--no-backchannel-logout"],
      );
      expect(off.backchannel_logout_uri).toBeNull();
    } finally {
      receiver.close();
    }
  });
});
