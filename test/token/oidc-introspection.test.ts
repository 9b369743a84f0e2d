import { env, exports } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import type { TokenServiceRpc } from "../../shared/contracts/token-service.ts";
import { DPOP_HEADER } from "../../shared/contracts/headers.ts";
import { clientAddress } from "../support/credential-limits.ts";
import type { Client, TokenResponse } from "../support/runtime/browser-oidc.ts";
import { dpopKey, dpopProof } from "../support/runtime/dpop-proof.ts";
import { API, introspection, ISSUER, oidc, revocation } from "./oidc-fixture.ts";

async function answer(response: Response) {
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const INACTIVE = { status: 200, body: { active: false } };

function refresh(refreshToken: string, client: Client) {
  return oidc.tokenRequest({ grant_type: "refresh_token", refresh_token: refreshToken }, client);
}

async function signOut(cookie: string) {
  const origin = new URL(ISSUER).origin;
  const response = await (env as unknown as { AUTHN_PAGES: Fetcher }).AUTHN_PAGES.fetch(
    new Request(`${origin}${ENDPOINT.signOut}`, {
      method: "POST",
      headers: { Cookie: cookie, Origin: origin, "Content-Type": "application/x-www-form-urlencoded" },
      redirect: "manual",
    }),
  );
  expect(response.status).toBe(303);
}

describe("ENDPOINT.introspection for a browser OpenID client's own tokens (RFC 7662)", () => {
  it("its JWT access token is active, with §2.2's members and nothing secret or internal", async () => {
    const { tokens, client, person } = await oidc.issuedTokens();
    const response = await introspection({ token: tokens.access_token }, client);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const { status, body } = await answer(response);
    const claims = decodeJwt(tokens.access_token);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      active: true,
      iss: ISSUER,
      sub: person.userId,
      client_id: client.clientId,
      scope: claims.scope,
      token_type: "Bearer",
      exp: claims.exp,
      iat: claims.iat,
      jti: claims.jti,
      org_id: person.orgId,
    });
    expect(body.aud).toEqual(claims.aud);
    expect([body.aud].flat()).toContain(API);
    // The session id stays inside; no secret of any kind is ever a member.
    // The person's roles in the org ride in the token (oidc/org-claim.ts), and so in the answer.
    expect(body.roles).toEqual(claims.roles);
    expect(Object.keys(body).sort()).toEqual(
      [
        "active",
        "aud",
        "client_id",
        "exp",
        "iat",
        "iss",
        "jti",
        "org_id",
        "roles",
        "scope",
        "sub",
        "token_type",
      ].sort(),
    );
    expect(JSON.stringify(body)).not.toContain(client.clientSecret);
  });

  it("its refresh token is active with its members (org_id, no sid, no token_type), whatever the hint", async () => {
    const { tokens, client, person } = await oidc.issuedTokens();
    for (const hint of [undefined, "refresh_token", "access_token", "something_else"]) {
      const { status, body } = await answer(
        await introspection({ token: tokens.refresh_token ?? "", ...(hint ? { token_type_hint: hint } : {}) }, client),
      );
      expect({ hint, status }).toEqual({ hint, status: 200 });
      expect(body).toMatchObject({
        active: true,
        iss: ISSUER,
        client_id: client.clientId,
        sub: person.userId,
        org_id: person.orgId,
        scope: "openid profile email offline_access documents:read",
      });
      expect(Object.keys(body).sort()).toEqual(["active", "client_id", "exp", "iat", "iss", "org_id", "scope", "sub"]);
      expect(body.exp as number).toBeGreaterThan(body.iat as number);
    }
  });

  it("another client's access and refresh tokens are inactive, and nothing more", async () => {
    const mine = await oidc.issuedTokens();
    const theirs = await oidc.issuedTokens();
    for (const token of [theirs.tokens.access_token, theirs.tokens.refresh_token ?? ""]) {
      expect(await answer(await introspection({ token }, mine.client))).toEqual(INACTIVE);
    }
    // Still theirs, and live: the answer said nothing because it was not this client's.
    expect(await answer(await introspection({ token: theirs.tokens.access_token }, theirs.client))).toMatchObject({
      body: { active: true },
    });
  });

  it("another client's id in the form beside Basic credentials spelled as Better Auth alone reads them is 401 invalid_client, never that client's answer", async () => {
    const mine = await oidc.issuedTokens();
    const theirs = await oidc.issuedTokens();
    const credentials = btoa(`${mine.client.clientId}:${mine.client.clientSecret}`);
    // Better Auth's base64 stops at the first "=" and reads the base64url alphabet too; the client the request
    // is answered for must be the one it authenticated, not the form's client_id.
    const urlSafe = credentials.replaceAll("+", "-").replaceAll("/", "_");
    const spellings = [`${credentials}=.`, `${credentials}=%`, ...(urlSafe === credentials ? [] : [urlSafe])];
    for (const spelling of spellings) {
      for (const token of [theirs.tokens.access_token, theirs.tokens.refresh_token ?? ""]) {
        const { status, body } = await answer(
          await introspection({ token, client_id: theirs.client.clientId }, undefined, {
            Authorization: `Basic ${spelling}`,
          }),
        );
        expect({ spelling, status, error: body.error, active: body.active }).toEqual({
          spelling,
          status: 401,
          error: "invalid_client",
          active: undefined,
        });
      }
    }
  });

  it("a refresh token revoked by RFC 7009 is inactive, and so is one rotated away", async () => {
    const revoked = await oidc.issuedTokens();
    expect((await revocation({ token: revoked.tokens.refresh_token ?? "" }, revoked.client)).status).toBe(200);
    expect(await answer(await introspection({ token: revoked.tokens.refresh_token ?? "" }, revoked.client))).toEqual(
      INACTIVE,
    );

    const rotated = await oidc.issuedTokens();
    const next = await refresh(rotated.tokens.refresh_token ?? "", rotated.client);
    expect(next.status).toBe(200);
    const successor = ((await next.json()) as TokenResponse).refresh_token ?? "";
    expect(await answer(await introspection({ token: rotated.tokens.refresh_token ?? "" }, rotated.client))).toEqual(
      INACTIVE,
    );
    expect(await answer(await introspection({ token: successor }, rotated.client))).toMatchObject({
      body: { active: true },
    });
  });

  it("a sign-out ends the session's access token (a session revocation); the refresh token stays as the grant says", async () => {
    const { tokens, client, person } = await oidc.issuedTokens();
    await signOut(person.cookie);
    expect(await answer(await introspection({ token: tokens.access_token }, client))).toEqual(INACTIVE);
    // A refresh token is the person's grant to the client, no session's (docs/authn.md): introspection
    // says active exactly when the refresh grant would still honour it.
    const said = (await answer(await introspection({ token: tokens.refresh_token ?? "" }, client))).body.active;
    const honoured = (await refresh(tokens.refresh_token ?? "", client)).status === 200;
    expect(said).toBe(honoured);
  });

  it("a refresh token whose person left the org is inactive, as the refresh grant refuses it", async () => {
    const { tokens, client, person } = await oidc.issuedTokens();
    await env.DB.prepare("DELETE FROM member WHERE user_id = ? AND organization_id = ?")
      .bind(person.userId, person.orgId)
      .run();
    expect(await answer(await introspection({ token: tokens.refresh_token ?? "" }, client))).toEqual(INACTIVE);
    expect((await refresh(tokens.refresh_token ?? "", client)).status).toBe(400);
  });

  it("an expired access token is inactive (from exp itself), and so is an expired refresh token", async () => {
    const { tokens, client, person } = await oidc.issuedTokens();
    const now = Math.floor(Date.now() / 1000);
    // The issuer's own signer, as the provider asks it: a token already past its exp.
    const signed = await (exports as unknown as { TokenService: TokenServiceRpc }).TokenService.signBrowserToken({
      kind: "access_token",
      claims: {
        iss: ISSUER,
        sub: person.userId,
        aud: [API],
        iat: now - 4,
        exp: now - 2,
        jti: crypto.randomUUID(),
        client_id: client.clientId,
        azp: client.clientId,
        org_id: person.orgId,
        scope: "openid",
        grant_id: decodeJwt(tokens.access_token).grant_id,
      },
    });
    if (!signed.ok) throw new Error(signed.error);
    expect(await answer(await introspection({ token: signed.token }, client))).toEqual(INACTIVE);

    await env.DB.prepare("UPDATE oidc_refresh_token SET expires_at = ? WHERE client_id = ?")
      .bind(Date.now() - 1000, client.clientId)
      .run();
    expect(await answer(await introspection({ token: tokens.refresh_token ?? "" }, client))).toEqual(INACTIVE);
  });

  it("DPoP-bound tokens say so: the access token's token_type DPoP and cnf, the refresh token's cnf (RFC 9449 §6.2)", async () => {
    const { tokens, client } = await oidc.issuedTokens();
    const key = await dpopKey();
    const htu = `${ISSUER}${ENDPOINT.token}`;
    const withProof = async (nonce?: string) =>
      exports.default.fetch(
        new Request(htu, {
          method: "POST",
          headers: {
            "Content-Type": "application/x-www-form-urlencoded",
            "cf-connecting-ip": clientAddress(),
            Authorization: `Basic ${btoa(`${client.clientId}:${client.clientSecret}`)}`,
            [DPOP_HEADER.proof]: await dpopProof(key, { htm: "POST", htu, ...(nonce ? { nonce } : {}) }),
          },
          body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: tokens.refresh_token ?? "" }),
        }),
      );
    // RFC 9449 §8: the first proof learns the nonce.
    const nonce = (await withProof()).headers.get(DPOP_HEADER.nonce) ?? "";
    const response = await withProof(nonce);
    expect(response.status).toBe(200);
    const bound = (await response.json()) as TokenResponse;
    expect(await answer(await introspection({ token: bound.access_token }, client))).toMatchObject({
      status: 200,
      body: { active: true, token_type: "DPoP", cnf: { jkt: key.jkt } },
    });
    const { body } = await answer(await introspection({ token: bound.refresh_token ?? "" }, client));
    expect(body).toMatchObject({ active: true, cnf: { jkt: key.jkt } });
    expect(body.token_type).toBeUndefined();
  });

  it("garbage, an ID token and an unknown JWT are inactive", async () => {
    const { tokens, client } = await oidc.issuedTokens();
    const foreignJwt = `${btoa('{"alg":"none"}').replaceAll("=", "")}.${btoa('{"sub":"x"}').replaceAll("=", "")}.c2ln`;
    for (const token of ["not-a-token-we-issued", foreignJwt, tokens.id_token ?? "", "a".repeat(2000)]) {
      expect(await answer(await introspection({ token }, client))).toEqual(INACTIVE);
    }
  });
});

describe("a browser client must authenticate to introspect (RFC 7662 §2.1)", () => {
  it("a wrong secret is 401 invalid_client, for any token, and says nothing about it", async () => {
    const { tokens, client } = await oidc.issuedTokens();
    const wrong = { ...client, clientSecret: "mas_wrong" };
    for (const token of [tokens.access_token, tokens.refresh_token ?? "", "not-a-token-we-issued"]) {
      const { status, body } = await answer(await introspection({ token }, wrong));
      expect({ status, error: body.error }).toEqual({ status: 401, error: "invalid_client" });
      expect(body.active).toBeUndefined();
    }
  });

  it("a public client (no secret) is 401 invalid_client, by client_id alone or with an empty Basic secret", async () => {
    const publicClient = await oidc.browserClient({ type: "public" });
    expect(publicClient.clientSecret).toBe("");
    const byId = await answer(await introspection({ token: "whatever", client_id: publicClient.clientId }));
    expect({ status: byId.status, error: byId.body.error }).toEqual({ status: 401, error: "invalid_client" });
    const byBasic = await answer(await introspection({ token: "whatever" }, publicClient));
    expect({ status: byBasic.status, error: byBasic.body.error }).toEqual({ status: 401, error: "invalid_client" });
  });

  it("only its registered method: client_secret_post from a client_secret_basic client is 401 invalid_client", async () => {
    const { tokens, client } = await oidc.issuedTokens();
    const { status, body } = await answer(
      await introspection({
        token: tokens.access_token,
        client_id: client.clientId,
        client_secret: client.clientSecret,
      }),
    );
    expect({ status, error: body.error }).toEqual({ status: 401, error: "invalid_client" });
  });

  it("a missing token is 400 invalid_request", async () => {
    const { client } = await oidc.issuedTokens();
    const { status, body } = await answer(await introspection({}, client));
    expect({ status, error: body.error }).toEqual({ status: 400, error: "invalid_request" });
  });
});
