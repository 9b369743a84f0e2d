// openid-client 6 (unmodified) as a relying party of the whole system (see
// openid-client-code-flow.test.ts): RFC 7662 introspection of its own tokens
// and RFC 7009 revocation, read back by introspection and at the gateway.
import { decodeJwt } from "jose";
import * as client from "openid-client";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { openidClientRp, REDIRECT_URI, redirectTarget } from "../support/openid-client-rp.ts";

const rp = openidClientRp();

describe("openid-client 6 against the browser OpenID provider: introspection and revocation", () => {
  it("RFC 7662: tokenIntrospection reads its own tokens active, and inactive once revoked (RFC 7009) or signed out", async () => {
    const resource = `${rp.system.origin}/api`;
    const { tokens } = await rp.signedInTokens("openid offline_access documents:read", resource);
    const access = decodeJwt(tokens.access_token);

    // openid-client authenticates with the client's client_secret_basic at the advertised introspection_endpoint.
    const accessAnswer = await client.tokenIntrospection(rp.config, tokens.access_token);
    expect(accessAnswer).toMatchObject({
      active: true,
      iss: rp.system.origin,
      client_id: rp.registered.client_id,
      sub: access.sub,
      jti: access.jti,
      exp: access.exp,
      token_type: "Bearer",
    });
    const refresh = tokens.refresh_token ?? "";
    const refreshAnswer = await client.tokenIntrospection(rp.config, refresh, { token_type_hint: "refresh_token" });
    expect(refreshAnswer).toMatchObject({ active: true, client_id: rp.registered.client_id, sub: access.sub });
    expect(refreshAnswer.sid).toBeUndefined();

    await client.tokenRevocation(rp.config, refresh, { token_type_hint: "refresh_token" });
    expect(await client.tokenIntrospection(rp.config, refresh)).toEqual({ active: false });
    // RFC 7009 §2.1: the access tokens of the refresh token's grant end with it.
    expect(await client.tokenIntrospection(rp.config, tokens.access_token)).toEqual({ active: false });

    // Signing out is a session revocation: the session's access token is inactive from then on.
    const other = await rp.signedInTokens("openid documents:read", resource);
    expect(await client.tokenIntrospection(rp.config, other.tokens.access_token)).toMatchObject({ active: true });
    const signOut = await rp.system.fetch(`${ENDPOINT.authApi}/sign-out`, {
      method: "POST",
      headers: { Cookie: other.browser.header(), Origin: rp.system.origin, "Content-Type": "application/json" },
      body: "{}",
    });
    expect(signOut.status).toBe(200);
    expect(await client.tokenIntrospection(rp.config, other.tokens.access_token)).toEqual({ active: false });
  });

  it("RFC 7009 §2.1: revoking a refresh token ends the access tokens of its grant at the gateway, the code's and the refresh's; the person's other grant lives on", async () => {
    const resource = `${rp.system.origin}/api`;
    const scope = "openid offline_access documents:read";
    const { browser, tokens } = await rp.signedInTokens(scope, resource);
    const refreshed = await client.refreshTokenGrant(rp.config, tokens.refresh_token ?? "", { resource });
    // The same person and client again (another device of theirs): consent given, straight back with a code.
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const again = await browser.get(
      client.buildAuthorizationUrl(rp.config, {
        redirect_uri: REDIRECT_URI,
        scope,
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: "S256",
        state,
        resource,
      }).href,
    );
    const otherDevice = await client.authorizationCodeGrant(
      rp.config,
      new URL(await redirectTarget(again)),
      { pkceCodeVerifier: verifier, expectedState: state },
      { resource },
    );
    const api = (token: string) => rp.system.fetch("/api/documents", { headers: { Authorization: `Bearer ${token}` } });
    for (const token of [tokens.access_token, refreshed.access_token, otherDevice.access_token]) {
      expect((await api(token)).status).toBe(200);
    }

    // openid-client revokes the current refresh token at the advertised revocation_endpoint.
    await client.tokenRevocation(rp.config, refreshed.refresh_token ?? "");
    // Recorded in the org's object before the 200, which pushes it to the gateway's view (docs/revocation.md).
    for (const token of [tokens.access_token, refreshed.access_token]) {
      await expect.poll(async () => (await api(token)).status, { timeout: 10_000 }).toBe(401);
      const refused = await api(token);
      expect(refused.headers.get("WWW-Authenticate")).toContain('error="invalid_token"');
      expect(refused.headers.get("WWW-Authenticate")).toContain("ERR_TOKEN_REVOKED");
    }
    expect((await api(otherDevice.access_token)).status).toBe(200);
    expect(await client.tokenIntrospection(rp.config, otherDevice.access_token)).toMatchObject({ active: true });
  });
});
