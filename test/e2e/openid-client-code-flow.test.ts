// openid-client 6 (unmodified) as a real relying party of the browser OpenID
// provider, against the whole system on one origin: the client an operator
// registered with `mono-auth oidc-client create`, discovery from the one
// issuer, authorization code + PKCE S256 with a scripted person (sign-up
// page, cookie jar, consent page), the RFC 9207 `iss` check it performs
// itself, the ID token against the one JWKS, userinfo, refresh rotation and
// the access token at the gateway like any other. Its introspection and
// revocation: openid-client-introspection-revocation.test.ts; logout:
// openid-client-logout.test.ts.
import { decodeJwt, decodeProtectedHeader } from "jose";
import * as client from "openid-client";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { openidClientRp, REDIRECT_URI } from "../support/openid-client-rp.ts";

const rp = openidClientRp();

describe("openid-client 6 against the browser OpenID provider: registration, discovery, code flow", () => {
  it("the operator's CLI lists the client it registered, without its secret", async () => {
    const listed = await rp.operator.json<{ oidc_clients: { client_id: string; redirect_uris: string[] }[] }>(
      "oidc-client",
      "list",
    );
    const mine = listed.oidc_clients.find((c) => c.client_id === rp.registered.client_id);
    expect(mine?.redirect_uris).toEqual([REDIRECT_URI]);
    expect(JSON.stringify(listed)).not.toContain(rp.registered.client_secret);
  });

  it("discovers one issuer: authorization, token, userinfo and JWKS endpoints, S256 only, RFC 9207", () => {
    const metadata = rp.config.serverMetadata();
    expect(metadata.issuer).toBe(rp.system.origin);
    expect(metadata.token_endpoint).toBe(`${rp.system.origin}${ENDPOINT.token}`);
    expect(metadata.jwks_uri).toBe(`${rp.system.origin}${ENDPOINT.jwks}`);
    expect(metadata.code_challenge_methods_supported).toEqual(["S256"]);
    expect(metadata.authorization_response_iss_parameter_supported).toBe(true);
    expect(metadata.response_types_supported).toEqual(["code"]);
    expect(metadata.end_session_endpoint).toBe(`${rp.system.origin}/api/auth/oauth2/end-session`);
  });

  it("authorization code + PKCE + consent → ID token, at+jwt access token that the gateway accepts, userinfo, refresh rotation", async () => {
    const { browser, email } = await rp.signedUpPerson();
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const resource = `${rp.system.origin}/api`;
    const url = client.buildAuthorizationUrl(rp.config, {
      redirect_uri: REDIRECT_URI,
      scope: "openid profile email offline_access documents:read",
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state,
      nonce,
      resource,
    });
    const callback = await rp.authorizeInBrowser(browser, url);
    expect(callback.searchParams.get("iss")).toBe(rp.system.origin);

    // openid-client checks state, iss (RFC 9207), the ID token's signature
    // against jwks_uri, its iss/aud/nonce, and PKCE on the token request.
    const tokens = await client.authorizationCodeGrant(
      rp.config,
      callback,
      { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce },
      { resource },
    );
    const claims = tokens.claims();
    expect(claims?.iss).toBe(rp.system.origin);
    expect(claims?.aud).toBe(rp.registered.client_id);
    expect(decodeProtectedHeader(tokens.access_token).typ).toBe("at+jwt");
    const access = decodeJwt(tokens.access_token);
    expect(access).toMatchObject({ iss: rp.system.origin, sub: claims?.sub, client_id: rp.registered.client_id });
    expect(typeof access.org_id).toBe("string");

    // The same token works at the gateway, like any token of the issuer.
    const documents = await rp.system.fetch("/api/documents", {
      headers: { Authorization: `Bearer ${tokens.access_token}` },
    });
    expect(documents.status).toBe(200);

    const userinfo = await client.fetchUserInfo(rp.config, tokens.access_token, claims?.sub ?? "");
    expect(userinfo.email).toBe(email);

    // Rotation: a new refresh token each time; the spent one is refused and takes its family with it.
    const first = tokens.refresh_token ?? "";
    const rotated = await client.refreshTokenGrant(rp.config, first, { resource });
    expect(rotated.refresh_token).toBeTruthy();
    expect(rotated.refresh_token).not.toBe(first);
    const replay = await client.refreshTokenGrant(rp.config, first).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(replay).toBeInstanceOf(client.ResponseBodyError);
    expect((replay as client.ResponseBodyError).error).toBe("invalid_grant");
    const family = await client.refreshTokenGrant(rp.config, rotated.refresh_token ?? "").then(
      () => undefined,
      (error: unknown) => error,
    );
    expect((family as client.ResponseBodyError).error).toBe("invalid_grant");
  });

  it("a wrong PKCE verifier is invalid_grant at the one token endpoint (RFC 7636 §4.6)", async () => {
    const { browser } = await rp.signedUpPerson();
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(rp.config, {
      redirect_uri: REDIRECT_URI,
      scope: "openid",
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state,
    });
    const callback = await rp.authorizeInBrowser(browser, url);
    const refused = await client
      .authorizationCodeGrant(rp.config, callback, {
        pkceCodeVerifier: client.randomPKCECodeVerifier(),
        expectedState: state,
      })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(refused).toBeInstanceOf(client.ResponseBodyError);
    expect((refused as client.ResponseBodyError).error).toBe("invalid_grant");
  });
});
