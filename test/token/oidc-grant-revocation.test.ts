import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { BROWSER_GRANT_ID, BROWSER_GRANT_ID_PREFIX } from "../../shared/contracts/oidc.ts";
import { storedTokenForm } from "../../workers/authn/src/oidc/stored-token.ts";
import type { Client, TokenResponse } from "../support/runtime/browser-oidc.ts";
import { clientToken } from "./clients-fixtures.ts";
import { API, oidc, revocation } from "./oidc-fixture.ts";
import { active, grant, oauthError, refresh, revokedInOrg, tokens } from "./oidc-grant-fixtures.ts";
import { delegationParams, exchange, grantDelegation, issued, registerAgent } from "./token-exchange-fixtures.ts";

// RFC 7009 §2.1: "If the particular token is a refresh token and the authorization server supports the
// revocation of access tokens, then the authorization server SHOULD also invalidate all access tokens based
// on the same authorization grant." Every access token of a browser grant carries its `grant_id`; revoking
// one of the grant's refresh tokens records a `grant` revocation of it (workers/token/src/oidc/browser-revocation.ts).

async function refreshed(refreshToken: string, client: Client): Promise<TokenResponse> {
  return tokens(await refresh(refreshToken, client));
}

function grantOf(accessToken: string): unknown {
  return decodeJwt(accessToken).grant_id;
}

describe("RFC 7009 §2.1: revoking a browser refresh token ends the access tokens of its grant", () => {
  it("the code's and every refresh's access tokens carry one grant id; another grant of the same person and client has its own", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const first = await grant(person, client);
    const next = await refreshed(first.refresh_token ?? "", client);
    const last = await refreshed(next.refresh_token ?? "", client);
    const other = await grant(person, client);
    expect(grantOf(first.access_token)).toMatch(BROWSER_GRANT_ID);
    expect(grantOf(next.access_token)).toBe(grantOf(first.access_token));
    expect(grantOf(last.access_token)).toBe(grantOf(first.access_token));
    expect(grantOf(other.access_token)).toMatch(BROWSER_GRANT_ID);
    expect(grantOf(other.access_token)).not.toBe(grantOf(first.access_token));
  });

  it("cuts off the code's and the refreshes' access tokens, by introspection and at the org's object; the person's other grant to the client and another client's live on", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const otherClient = await oidc.browserClient();
    const first = await grant(person, client);
    const next = await refreshed(first.refresh_token ?? "", client);
    const otherDevice = await grant(person, client);
    const elsewhere = await grant(person, otherClient);
    for (const token of [first.access_token, next.access_token, otherDevice.access_token]) {
      expect(await active(token, client)).toBe(true);
    }

    // The grant's current refresh token, as a client signing the person out of this device revokes it.
    const response = await revocation({ token: next.refresh_token ?? "", token_type_hint: "refresh_token" }, client);
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");

    for (const token of [first.access_token, next.access_token]) {
      expect(await active(token, client)).toBe(false);
      expect(await revokedInOrg(token)).toBe(true);
    }
    // Only that grant: the same person's other device, with the same client, and another client.
    expect(await active(otherDevice.access_token, client)).toBe(true);
    expect(await revokedInOrg(otherDevice.access_token)).toBe(false);
    expect(await active(elsewhere.access_token, otherClient)).toBe(true);
    expect(await revokedInOrg(elsewhere.access_token)).toBe(false);
    expect((await refresh(otherDevice.refresh_token ?? "", client)).status).toBe(200);
    // The revoked one yields nothing (and, used again, Better Auth's reuse rule ends the pair's other refresh tokens).
    expect(await oauthError(await refresh(next.refresh_token ?? "", client))).toEqual({
      status: 400,
      error: "invalid_grant",
    });
    // Recorded as a grant revocation in the grant's org, and audited.
    await expect
      .poll(async () => {
        const row = await env.AUDIT_DB.prepare(
          "SELECT org_id, detail FROM audit_event WHERE kind = 'revocation.recorded' AND instr(detail, ?) > 0",
        )
          .bind(String(grantOf(first.access_token)))
          .first<{ org_id: string; detail: string }>();
        return row ? { org_id: row.org_id, ...JSON.parse(row.detail) } : null;
      })
      .toMatchObject({
        org_id: person.orgId,
        revocation_kind: "grant",
        value: grantOf(first.access_token),
        reason: `rfc7009 refresh token by ${client.clientId}`,
      });
  });

  it("revoking a refresh token already rotated away ends its grant's access tokens too, with the family (RFC 9700 §4.14.2)", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const first = await grant(person, client);
    const next = await refreshed(first.refresh_token ?? "", client);
    const otherDevice = await grant(person, client);
    // No hint: the token is found as a refresh token all the same.
    expect((await revocation({ token: first.refresh_token ?? "" }, client)).status).toBe(200);
    for (const token of [first.access_token, next.access_token]) {
      expect(await active(token, client)).toBe(false);
    }
    expect(await oauthError(await refresh(next.refresh_token ?? "", client))).toEqual({
      status: 400,
      error: "invalid_grant",
    });
    // Better Auth's reuse rule ends every refresh token of the (client, person) pair; the other grant's
    // access tokens were not based on this grant and are not cut off.
    expect(await active(otherDevice.access_token, client)).toBe(true);
  });

  it("a refresh token sent with the access_token hint is still found and revoked, with its grant's access tokens (§2.1: the search extends past the hint)", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const first = await grant(person, client);
    expect(
      (await revocation({ token: first.refresh_token ?? "", token_type_hint: "access_token" }, client)).status,
    ).toBe(200);
    expect(await active(first.access_token, client)).toBe(false);
    expect(await oauthError(await refresh(first.refresh_token ?? "", client))).toEqual({
      status: 400,
      error: "invalid_grant",
    });
  });

  it("another client revoking the token revokes nothing: its answer is 200, and the grant's tokens live on", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const stranger = await oidc.browserClient();
    const first = await grant(person, client);
    expect((await revocation({ token: first.refresh_token ?? "" }, stranger)).status).toBe(200);
    expect(await active(first.access_token, client)).toBe(true);
    expect(await revokedInOrg(first.access_token)).toBe(false);
    expect((await refresh(first.refresh_token ?? "", client)).status).toBe(200);
  });

  it("a wrong client secret is 401 invalid_client, and nothing is revoked", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const first = await grant(person, client);
    expect(
      await oauthError(await revocation({ token: first.refresh_token ?? "" }, { ...client, clientSecret: "x" })),
    ).toEqual({ status: 401, error: "invalid_client" });
    expect(await active(first.access_token, client)).toBe(true);
    expect(await revokedInOrg(first.access_token)).toBe(false);
  });

  it("503 temporarily_unavailable when the grant's revocation cannot be recorded; the retry records the owed cut-off and answers 200", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const first = await grant(person, client);
    const stored = await storedTokenForm(first.refresh_token ?? "");
    const row = await env.DB.prepare("SELECT authorization_code_id AS id FROM oidc_refresh_token WHERE token = ?")
      .bind(stored)
      .first<{ id: string }>();
    // A grant id longer than the org's object stores (256): it refuses the revocation.
    const setGrant = (id: string) =>
      env.DB.prepare("UPDATE oidc_refresh_token SET authorization_code_id = ? WHERE token = ?").bind(id, stored).run();
    await setGrant("x".repeat(300));
    const refused = await revocation({ token: first.refresh_token ?? "" }, client);
    expect(await oauthError(refused)).toEqual({ status: 503, error: "temporarily_unavailable" });
    expect(refused.headers.get("Retry-After")).toBe("1");
    expect(await revokedInOrg(first.access_token)).toBe(false);

    await setGrant(row?.id ?? "");
    // The grant's cut-off is owed from before the refresh token was revoked (oidc-grant-owed-cutoff.test.ts), as read.
    await env.DB.prepare("UPDATE owed_grant_cutoff SET grant_id = ? WHERE client_id = ?")
      .bind(`${BROWSER_GRANT_ID_PREFIX}${row?.id ?? ""}`, client.clientId)
      .run();
    // The refresh token is revoked already: the retry records the owed grant first.
    expect((await revocation({ token: first.refresh_token ?? "" }, client)).status).toBe(200);
    expect(await active(first.access_token, client)).toBe(false);
    expect(await revokedInOrg(first.access_token)).toBe(true);
  });

  it("a token an agent exchanged from a grant's access token (RFC 8693) rests on the grant too, and ends with it", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const first = await grant(person, client);
    const agent = await registerAgent(person.orgId);
    const delegation = await grantDelegation(person.orgId, person.userId, agent);
    const made = await issued(
      await exchange(agent, delegationParams(first.access_token, await clientToken(agent), { audience: API })),
    );
    expect(made.claims).toMatchObject({ grant_id: delegation.id, grant_chain: [grantOf(first.access_token)] });
    expect(await revokedInOrg(made.body.access_token)).toBe(false);

    expect((await revocation({ token: first.refresh_token ?? "" }, client)).status).toBe(200);
    expect(await revokedInOrg(made.body.access_token)).toBe(true);
  });

  it("a refresh and the revocation of one refresh token at once: whichever goes first, no access token of the grant and no successor lives on", async () => {
    for (let round = 0; round < 3; round++) {
      const person = await oidc.signUp();
      const client = await oidc.browserClient();
      const first = await grant(person, client);
      const [refreshing, revoking] = await Promise.all([
        refresh(first.refresh_token ?? "", client),
        revocation({ token: first.refresh_token ?? "" }, client),
      ]);
      expect(revoking.status).toBe(200);
      expect(await active(first.access_token, client)).toBe(false);
      if (refreshing.status === 200) {
        const successor = (await refreshing.json()) as TokenResponse;
        expect(await active(successor.access_token, client)).toBe(false);
        expect(await revokedInOrg(successor.access_token)).toBe(true);
        expect(await oauthError(await refresh(successor.refresh_token ?? "", client))).toEqual({
          status: 400,
          error: "invalid_grant",
        });
      } else {
        expect(await oauthError(refreshing)).toEqual({ status: 400, error: "invalid_grant" });
      }
    }
  });
});

describe("RFC 9700 §4.14.2: a refresh token used again after it was rotated away ends its grant's access tokens", () => {
  it("the reuse is invalid_grant; the code's and the successor's access tokens end with the family, the person's other grant's live on", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const first = await grant(person, client);
    // Whoever holds the successor (a thief who refreshed first, say) got a fresh access token…
    const successor = await refreshed(first.refresh_token ?? "", client);
    const otherDevice = await grant(person, client);
    // …and the first refresh token comes back: a leak.
    expect(await oauthError(await refresh(first.refresh_token ?? "", client))).toEqual({
      status: 400,
      error: "invalid_grant",
    });
    for (const token of [first.access_token, successor.access_token]) {
      expect(await active(token, client)).toBe(false);
      expect(await revokedInOrg(token)).toBe(true);
    }
    expect(await oauthError(await refresh(successor.refresh_token ?? "", client))).toEqual({
      status: 400,
      error: "invalid_grant",
    });
    expect(await active(otherDevice.access_token, client)).toBe(true);
    expect(await revokedInOrg(otherDevice.access_token)).toBe(false);
    await expect
      .poll(async () => {
        const row = await env.AUDIT_DB.prepare(
          "SELECT detail FROM audit_event WHERE kind = 'revocation.recorded' AND instr(detail, ?) > 0",
        )
          .bind(String(grantOf(first.access_token)))
          .first<{ detail: string }>();
        return row ? JSON.parse(row.detail) : null;
      })
      .toMatchObject({ revocation_kind: "grant", reason: `refresh token reuse by ${client.clientId}` });
  });

  it("another client presenting the rotated token is invalid_grant and ends nothing", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const stranger = await oidc.browserClient();
    const first = await grant(person, client);
    const successor = await refreshed(first.refresh_token ?? "", client);
    expect(await oauthError(await refresh(first.refresh_token ?? "", stranger))).toEqual({
      status: 400,
      error: "invalid_grant",
    });
    expect(await active(successor.access_token, client)).toBe(true);
    expect(await revokedInOrg(successor.access_token)).toBe(false);
    expect((await refresh(successor.refresh_token ?? "", client)).status).toBe(200);
  });

  it("a refresh token revoked by RFC 7009 and used again stays refused, invalid_grant, its grant's tokens ended", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const first = await grant(person, client);
    expect((await revocation({ token: first.refresh_token ?? "" }, client)).status).toBe(200);
    expect(await oauthError(await refresh(first.refresh_token ?? "", client))).toEqual({
      status: 400,
      error: "invalid_grant",
    });
    expect(await active(first.access_token, client)).toBe(false);
  });
});

describe("revoking a browser access token leaves the refresh token (RFC 7009 §2.1: MAY, and this server does not)", () => {
  it("its JWT access token is 400 unsupported_token_type; the refresh token and the grant's tokens live on", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const first = await grant(person, client);
    expect(await oauthError(await revocation({ token: first.access_token }, client))).toEqual({
      status: 400,
      error: "unsupported_token_type",
    });
    expect(await active(first.access_token, client)).toBe(true);
    expect(await active(first.refresh_token ?? "", client)).toBe(true);
    expect((await refresh(first.refresh_token ?? "", client)).status).toBe(200);
  });

  it("its opaque access token (no resource) is revoked, 200, and the refresh token still refreshes", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const first = await grant(person, client, null);
    expect(first.access_token.split(".")).toHaveLength(1);
    for (const hint of ["access_token", undefined]) {
      const response = await revocation(
        { token: first.access_token, ...(hint ? { token_type_hint: hint } : {}) },
        client,
      );
      expect({ hint, status: response.status }).toEqual({ hint, status: 200 });
    }
    const gone = await env.DB.prepare("SELECT count(*) AS n FROM oidc_access_token WHERE token = ?")
      .bind(await storedTokenForm(first.access_token))
      .first<{ n: number }>();
    expect(gone?.n).toBe(0);
    expect(await active(first.refresh_token ?? "", client)).toBe(true);
    expect((await refresh(first.refresh_token ?? "", client)).status).toBe(200);
  });
});
