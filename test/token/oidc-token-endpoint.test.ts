import { env } from "cloudflare:workers";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { anonymousRefusalsSince } from "../support/runtime/anonymous-refusal-rows.ts";
import { pkce, REDIRECT_URI, type TokenResponse } from "../support/runtime/browser-oidc.ts";
import { API, ISSUER, oidc, revocation } from "./oidc-fixture.ts";

async function error(response: Response) {
  return { status: response.status, ...((await response.json()) as { error: string }) };
}

/** A person, a client, and a fresh code for it (with its verifier). */
async function freshCode() {
  const person = await oidc.signUp();
  const client = await oidc.browserClient();
  const { verifier, challenge } = await pkce();
  const back = await oidc.authorizeAndConsent(oidc.codeRequest(client.clientId, challenge), person.cookie);
  return { person, client, verifier, code: back.searchParams.get("code") ?? "" };
}

function redeem(code: string, verifier: string, client: { clientId: string; clientSecret: string }, extra = {}) {
  return oidc.tokenRequest(
    { grant_type: "authorization_code", code, redirect_uri: REDIRECT_URI, code_verifier: verifier, ...extra },
    client,
  );
}

function refresh(refreshToken: string, client: { clientId: string; clientSecret: string }) {
  return oidc.tokenRequest({ grant_type: "refresh_token", refresh_token: refreshToken }, client);
}

describe("ENDPOINT.token forwards the browser provider's grants (one token endpoint)", () => {
  it("redeems a code for at+jwt + ID token + refresh token, no-store, verifying against the one JWKS", async () => {
    const { tokens, client, person, request } = await oidc.issuedTokens();
    expect(decodeProtectedHeader(tokens.access_token).typ).toBe("at+jwt");
    expect(decodeJwt(tokens.access_token)).toMatchObject({
      iss: ISSUER,
      org_id: person.orgId,
      client_id: client.clientId,
    });
    const id = await oidc.verifyIdToken(tokens.id_token ?? "", client.clientId);
    expect(id).toMatchObject({ sub: person.userId, nonce: request.nonce });
    // Audited like every token of the issuer: who, which org, which client; never the token.
    const jti = decodeJwt(tokens.access_token).jti;
    await expect
      .poll(async () =>
        env.AUDIT_DB.prepare(
          "SELECT org_id, subject, client_id, detail FROM audit_event WHERE kind = 'token.issued' AND detail LIKE ?",
        )
          .bind(`%${jti}%`)
          .first<{ org_id: string; subject: string; client_id: string; detail: string }>(),
      )
      .toMatchObject({ org_id: person.orgId, subject: person.userId, client_id: client.clientId });
  });

  it("refuses a wrong code_verifier with invalid_grant (RFC 7636 §4.6), and the code stays for the right one", async () => {
    const { client, verifier, code } = await freshCode();
    const sent = Date.now();
    const wrong = await redeem(code, "x".repeat(43), client);
    expect(wrong.headers.get("Cache-Control")).toBe("no-store");
    expect(await error(wrong)).toMatchObject({ status: 400, error: "invalid_grant" });
    // Refusals are audited as at every grant (endpoints/token.ts). A browser grant's is refused before the
    // endpoint authenticates the client, so it is anonymous: this request's row is the one whose window took
    // a refusal after it was sent (earlier tests' refused codes, of any file, share the table).
    await expect
      .poll(
        async () =>
          (
            await anonymousRefusalsSince("token.refused", sent, {
              error: "invalid_grant",
              grantType: "authorization_code",
            })
          ).length,
      )
      .toBeGreaterThan(0);
    // Refused before Better Auth spends the code (workers/authn/src/oidc/live-code-checks.ts).
    expect((await redeem(code, verifier, client)).status).toBe(200);
  });

  it("a code whose person was deleted before it was redeemed is invalid_grant (RFC 6749 §5.2), not a 500", async () => {
    const { person, client, verifier, code } = await freshCode();
    // As SCIM deprovisioning deletes a person (workers/authn/src/scim/deprovision.ts): the row and what hangs on it.
    await env.DB.prepare("DELETE FROM user WHERE id = ?").bind(person.userId).run();
    expect(await error(await redeem(code, verifier, client))).toMatchObject({ status: 400, error: "invalid_grant" });
  });

  it("a code whose session ended before it was redeemed is invalid_grant (RFC 6749 §5.2), not invalid_request", async () => {
    const { person, client, verifier, code } = await freshCode();
    const origin = new URL(ISSUER).origin;
    const signedOut = await (env as unknown as { AUTHN_PAGES: Fetcher }).AUTHN_PAGES.fetch(
      new Request(`${origin}${ENDPOINT.signOut}`, {
        method: "POST",
        headers: { Cookie: person.cookie, Origin: origin, "Content-Type": "application/x-www-form-urlencoded" },
        redirect: "manual",
      }),
    );
    expect(signedOut.status).toBe(303);
    expect(await error(await redeem(code, verifier, client))).toMatchObject({ status: 400, error: "invalid_grant" });
  });

  it("refuses a redirect_uri other than the authorization request's with invalid_grant (RFC 6749 §4.1.3)", async () => {
    const { client, verifier, code } = await freshCode();
    const response = await redeem(code, verifier, client, { redirect_uri: `${REDIRECT_URI}/` });
    expect(await error(response)).toMatchObject({ status: 400, error: "invalid_grant" });
  });

  it("refuses a wrong client secret with 401 invalid_client", async () => {
    const { client, verifier, code } = await freshCode();
    const response = await redeem(code, verifier, { ...client, clientSecret: "mas_wrong" });
    expect(await error(response)).toMatchObject({ status: 401, error: "invalid_client" });
    expect(response.headers.get("WWW-Authenticate")).toContain("Basic");
  });
});

describe("GHSA-7w99-5wm4-3g79, GHSA-392p-2q2v-4372: a code is redeemed once, even under concurrency", () => {
  it("20 parallel redemptions of one code: exactly one succeeds, the rest are invalid_grant, and they revoke its tokens", async () => {
    const { client, verifier, code } = await freshCode();
    const responses = await Promise.all(Array.from({ length: 20 }, () => redeem(code, verifier, client)));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    for (const response of responses.filter((r) => r.status !== 200)) {
      expect(await error(response)).toMatchObject({ status: 400, error: "invalid_grant" });
    }
    // RFC 6749 §4.1.2: the replays came while or after the winner redeemed; what it got is revoked all the same.
    const winner = (await responses.find((r) => r.status === 200)?.json()) as TokenResponse;
    expect(await error(await refresh(winner.refresh_token ?? "", client))).toMatchObject({
      status: 400,
      error: "invalid_grant",
    });
  });

  it("a replayed code is refused and the tokens it yielded are revoked (RFC 6749 §4.1.2)", async () => {
    const { client, verifier, code } = await freshCode();
    const first = await redeem(code, verifier, client);
    expect(first.status).toBe(200);
    const { refresh_token } = (await first.json()) as TokenResponse;
    expect(await error(await redeem(code, verifier, client))).toMatchObject({ status: 400, error: "invalid_grant" });
    expect(await error(await refresh(refresh_token ?? "", client))).toMatchObject({
      status: 400,
      error: "invalid_grant",
    });
  });
});

describe("GHSA-pw9m-5jxm-xr6h: refresh tokens rotate, and reuse ends the family (RFC 9700 §4.14.2)", () => {
  it("rotates on every use; a reused one is invalid_grant and its successor dies with it", async () => {
    const { tokens, client, person } = await oidc.issuedTokens();
    const first = tokens.refresh_token ?? "";
    const rotated = await refresh(first, client);
    expect(rotated.status).toBe(200);
    const next = (await rotated.json()) as TokenResponse;
    expect(next.refresh_token).toBeTruthy();
    expect(next.refresh_token).not.toBe(first);
    expect(decodeJwt(next.access_token)).toMatchObject({ org_id: person.orgId, sub: person.userId });

    // The old one again: replay. The whole family is revoked.
    expect(await error(await refresh(first, client))).toMatchObject({ status: 400, error: "invalid_grant" });
    expect(await error(await refresh(next.refresh_token ?? "", client))).toMatchObject({
      status: 400,
      error: "invalid_grant",
    });
  });

  it("parallel uses of one refresh token: at most one succeeds, and the family then ends", async () => {
    const { tokens, client } = await oidc.issuedTokens();
    const responses = await Promise.all(Array.from({ length: 10 }, () => refresh(tokens.refresh_token ?? "", client)));
    const ok = responses.filter((r) => r.status === 200);
    expect(ok.length).toBeLessThanOrEqual(1);
    for (const response of responses.filter((r) => r.status !== 200)) {
      expect(await error(response)).toMatchObject({ status: 400, error: "invalid_grant" });
    }
    for (const response of ok) {
      const successor = ((await response.json()) as TokenResponse).refresh_token ?? "";
      expect(await error(await refresh(successor, client))).toMatchObject({ status: 400, error: "invalid_grant" });
    }
  });

  it("a person removed from the org gets no more tokens for it: invalid_grant", async () => {
    const { tokens, client, person } = await oidc.issuedTokens();
    await env.DB.prepare("DELETE FROM member WHERE user_id = ? AND organization_id = ?")
      .bind(person.userId, person.orgId)
      .run();
    expect(await error(await refresh(tokens.refresh_token ?? "", client))).toMatchObject({
      status: 400,
      error: "invalid_grant",
    });
  });
});

describe("ENDPOINT.revocation for a browser client (RFC 7009)", () => {
  /** A refresh token's revocation, with the hint. */
  function revoke(token: string, client: { clientId: string; clientSecret: string }) {
    return revocation({ token, token_type_hint: "refresh_token" }, client);
  }

  it("revokes a refresh token at the issuer's one revocation endpoint; it then yields nothing", async () => {
    const { tokens, client } = await oidc.issuedTokens();
    const response = await revoke(tokens.refresh_token ?? "", client);
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(await error(await refresh(tokens.refresh_token ?? "", client))).toMatchObject({
      status: 400,
      error: "invalid_grant",
    });
  });

  it("revoking a refresh token already rotated away ends its family: the successor yields nothing (RFC 9700 §4.14.2)", async () => {
    const { tokens, client } = await oidc.issuedTokens();
    const rotated = await refresh(tokens.refresh_token ?? "", client);
    expect(rotated.status).toBe(200);
    const successor = ((await rotated.json()) as TokenResponse).refresh_token ?? "";
    // The owner revokes the token it still has, with or without a hint; a thief may hold the successor.
    const response = await revocation({ token: tokens.refresh_token ?? "" }, client);
    expect(response.status).toBe(200);
    expect(await error(await refresh(successor, client))).toMatchObject({ status: 400, error: "invalid_grant" });
  });

  it("revoking a rotated refresh token with the refresh_token hint ends its family too", async () => {
    const { tokens, client } = await oidc.issuedTokens();
    const rotated = await refresh(tokens.refresh_token ?? "", client);
    const successor = ((await rotated.json()) as TokenResponse).refresh_token ?? "";
    expect((await revoke(tokens.refresh_token ?? "", client)).status).toBe(200);
    expect(await error(await refresh(successor, client))).toMatchObject({ status: 400, error: "invalid_grant" });
  });

  it("refuses a wrong client secret with 401 invalid_client, and the token lives on", async () => {
    const { tokens, client } = await oidc.issuedTokens();
    const response = await revoke(tokens.refresh_token ?? "", { ...client, clientSecret: "mas_wrong" });
    expect(await error(response)).toMatchObject({ status: 401, error: "invalid_client" });
    expect((await refresh(tokens.refresh_token ?? "", client)).status).toBe(200);
  });
  it("answers 200 for a token it does not know or revoked already (RFC 7009 §2.2), with any hint", async () => {
    const { tokens, client } = await oidc.issuedTokens();
    const foreignJwt = `${btoa('{"alg":"none"}').replaceAll("=", "")}.${btoa('{"sub":"x"}').replaceAll("=", "")}.c2ln`;
    for (const token of ["not-a-token-we-issued", foreignJwt]) {
      for (const hint of [undefined, "refresh_token", "access_token", "something_else"]) {
        const response = await revocation({ token, ...(hint ? { token_type_hint: hint } : {}) }, client);
        expect({ token, hint, status: response.status }).toEqual({ token, hint, status: 200 });
      }
    }
    // Revoked once, then again: the second finds nothing live, which is still 200.
    expect((await revoke(tokens.refresh_token ?? "", client)).status).toBe(200);
    expect((await revoke(tokens.refresh_token ?? "", client)).status).toBe(200);
  });

  it("its own JWT access token is 400 unsupported_token_type (not revoked by jti), never a 500", async () => {
    const { tokens, client } = await oidc.issuedTokens();
    for (const hint of [undefined, "access_token"]) {
      const response = await revocation(
        { token: tokens.access_token, ...(hint ? { token_type_hint: hint } : {}) },
        client,
      );
      expect(await error(response)).toMatchObject({ status: 400, error: "unsupported_token_type" });
    }
    // Nothing was revoked on the way: the refresh token still works.
    expect((await refresh(tokens.refresh_token ?? "", client)).status).toBe(200);
  });

  it("authenticates the client before it says anything about the token: 401, 400 without a token", async () => {
    const { tokens, client } = await oidc.issuedTokens();
    const wrong = { ...client, clientSecret: "mas_wrong" };
    for (const token of ["not-a-token-we-issued", tokens.access_token]) {
      expect(await error(await revocation({ token }, wrong))).toMatchObject({ status: 401, error: "invalid_client" });
    }
    expect(await error(await revocation({}, client))).toMatchObject({ status: 400, error: "invalid_request" });
  });
});
