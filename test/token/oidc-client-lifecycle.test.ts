// An operator reads, changes, disables, re-keys and deletes a browser client
// (workers/token/src/admin/oidc-client-item.ts), and the OpenID provider (the
// real authn Worker, through AUTHN_PAGES and the one token endpoint) holds
// the client to it: a disabled or deleted client gets no code and no token,
// its refresh tokens are gone, and its JWT access tokens are revoked in the
// org they were minted for.
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { isTokenRevoked, type RevocableClaims } from "../../shared/revocation/is-token-revoked.ts";
import { pkce, REDIRECT_URI, type TokenResponse } from "../support/runtime/browser-oidc.ts";
import { adminRequest, adminToken, clientRevocations, expectHttpError } from "./admin-fixtures.ts";
import { clientToken, registerTestClient } from "./clients-fixtures.ts";
import { API, ISSUER, oidc } from "./oidc-fixture.ts";

type Client = { clientId: string; clientSecret: string };

interface View {
  client_id: string;
  client_name: string;
  redirect_uris: string[];
  scope: string;
  resources: string[];
  disabled: boolean;
  client_secret?: string;
}

const OTHER_API = "https://reports.example.test/api";

async function oauthError(response: Response) {
  return { status: response.status, ...((await response.json()) as { error: string }) };
}

function refresh(refreshToken: string, client: Client) {
  return oidc.tokenRequest({ grant_type: "refresh_token", refresh_token: refreshToken }, client);
}

function redeem(code: string, verifier: string, client: Client) {
  return oidc.tokenRequest(
    { grant_type: "authorization_code", code, redirect_uri: REDIRECT_URI, code_verifier: verifier, resource: API },
    client,
  );
}

/**
 * What the authorization endpoint answered: a redirect back to the client
 * with an error, or (RFC 6749 §4.1.2.1: an unknown or refused client is
 * never redirected to) the provider's own error page.
 */
async function authorizeAnswer(clientId: string, cookie: string, overrides: Record<string, string> = {}) {
  const { challenge } = await pkce();
  const response = await oidc.authorize(oidc.codeRequest(clientId, challenge, overrides), cookie);
  const location = new URL(response.headers.get("Location") ?? "", ISSUER);
  const to = location.href.startsWith(overrides.redirect_uri ?? REDIRECT_URI) ? "client" : "provider";
  return { status: response.status, to, error: location.searchParams.get("error") };
}

async function liveRefreshTokens(clientId: string): Promise<number> {
  const row = await env.DB.prepare(
    "SELECT count(*) AS n FROM oidc_refresh_token WHERE client_id = ? AND revoked IS NULL",
  )
    .bind(clientId)
    .first<{ n: number }>();
  return row?.n ?? -1;
}

/** Makes D1 itself refuse to mark this client's refresh tokens revoked; returns what lifts it. */
async function refuseRevocation(clientId: string): Promise<() => Promise<unknown>> {
  const trigger = `refuse_${clientId.replaceAll(/[^A-Za-z0-9]/g, "_")}`;
  await env.DB.prepare(
    `CREATE TRIGGER ${trigger} BEFORE UPDATE OF revoked ON oidc_refresh_token WHEN OLD.client_id = '${clientId}'
     BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`,
  ).run();
  return () => env.DB.prepare(`DROP TRIGGER ${trigger}`).run();
}

/** Whether the org's Durable Object now cuts this access token off, by the rule the gateway applies. */
async function revokedAtGateway(accessToken: string): Promise<boolean> {
  const claims = decodeJwt(accessToken) as unknown as RevocableClaims;
  const snapshot = await env.ORG_STATE.getByName(orgStateName(claims.org_id)).snapshot(claims.org_id);
  return isTokenRevoked(snapshot, claims);
}

function patch(clientId: string, token: string, body: unknown) {
  return adminRequest("PATCH", `/oidc-clients/${clientId}`, { token, body });
}

describe("admin API: one browser client", { timeout: 60_000 }, () => {
  it("GET shows it with its state and never a secret; an unknown id is 404 not_found", async () => {
    const token = await adminToken();
    const client = await oidc.browserClient({ name: "Reports" });
    const response = await adminRequest("GET", `/oidc-clients/${client.clientId}`, { token });
    expect(response.status).toBe(200);
    const view = (await response.json()) as View;
    expect(view).toMatchObject({
      client_id: client.clientId,
      client_name: "Reports",
      redirect_uris: [REDIRECT_URI],
      resources: [API],
      disabled: false,
    });
    expect(JSON.stringify(view)).not.toContain(client.clientSecret);
    await expectHttpError(await adminRequest("GET", "/oidc-clients/oidc_nope", { token }), 404, "not_found");
    await expectHttpError(await patch("oidc_nope", token, { disabled: true }), 404, "not_found");
    await expectHttpError(
      await adminRequest("POST", "/oidc-clients/oidc_nope/rotate-secret", { token }),
      404,
      "not_found",
    );
    await expectHttpError(await adminRequest("DELETE", "/oidc-clients/oidc_nope", { token }), 404, "not_found");
  });

  it("is for platform operators only: an org client's token is 401 invalid_token, none is 401 unauthorized", async () => {
    const client = await oidc.browserClient();
    const apiToken = await clientToken(await registerTestClient({ scopes: ["documents:read"] }));
    const path = `/oidc-clients/${client.clientId}`;
    await expectHttpError(await adminRequest("GET", path, { token: apiToken }), 401, "invalid_token");
    await expectHttpError(
      await adminRequest("PATCH", path, { token: apiToken, body: { disabled: true } }),
      401,
      "invalid_token",
    );
    await expectHttpError(await adminRequest("DELETE", path), 401, "unauthorized");
    await expectHttpError(await adminRequest("POST", `${path}/rotate-secret`), 401, "unauthorized");
  });

  it("PATCH changes the name, redirect URIs, scopes and resources, and answers the client", async () => {
    const token = await adminToken();
    const client = await oidc.browserClient();
    const response = await patch(client.clientId, token, {
      client_name: "Renamed",
      redirect_uris: ["https://rp.example.test/other", "http://127.0.0.1:9000/cb"],
      scope: "openid email",
      resources: [OTHER_API],
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      client_name: "Renamed",
      redirect_uris: ["https://rp.example.test/other", "http://127.0.0.1:9000/cb"],
      scope: "openid email",
      resources: [OTHER_API],
      disabled: false,
    });
  });

  const refusals: [string, Record<string, unknown>][] = [
    ["a redirect URI with userinfo (GHSA-86j7-9j95-vpqj)", { redirect_uris: ["https://good.example@evil.example/cb"] }],
    ["a redirect URI with a fragment", { redirect_uris: ["https://good.example/cb#x"] }],
    ["plain http off loopback", { redirect_uris: ["http://good.example/cb"] }],
    ["an empty redirect URI list", { redirect_uris: [] }],
    ["the operators' admin scope", { scope: "openid admin" }],
    ["scopes without openid", { scope: "documents:read" }],
    ["a resource the issuer does not serve", { resources: ["https://x.example"] }],
    ["no resources", { resources: [] }],
    ["disabled that is not a boolean", { disabled: "yes" }],
    ["a field create fixes for good (type)", { type: "public" }],
    ["the secret (rotate-secret sets it)", { client_secret: "mas_mine" }],
    ["nothing to change", {}],
  ];
  for (const [what, body] of refusals) {
    it(`PATCH refuses ${what} with 400 invalid_body, changing nothing`, async () => {
      const token = await adminToken();
      const client = await oidc.browserClient();
      await expectHttpError(await patch(client.clientId, token, body), 400, "invalid_body");
      const row = await env.DB.prepare("SELECT redirect_uris, scopes, disabled FROM oidc_client WHERE client_id = ?")
        .bind(client.clientId)
        .first<{ redirect_uris: string; scopes: string; disabled: number }>();
      expect(JSON.parse(row?.redirect_uris ?? "")).toEqual([REDIRECT_URI]);
      expect(JSON.parse(row?.scopes ?? "")).toContain("documents:read");
      expect(row?.disabled).toBe(0);
    });
  }
});

describe("narrowing a browser client holds from the next authorization", { timeout: 60_000 }, () => {
  it("a redirect URI taken off is refused at the provider: invalid_redirect, never sent to that URI", async () => {
    const token = await adminToken();
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    expect((await patch(client.clientId, token, { redirect_uris: ["https://rp.example.test/other"] })).status).toBe(
      200,
    );
    expect(await authorizeAnswer(client.clientId, person.cookie)).toEqual({
      status: 302,
      to: "provider",
      error: "invalid_redirect",
    });
  });

  it("a scope taken off is invalid_scope (RFC 6749 §4.1.2.1)", async () => {
    const token = await adminToken();
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    expect((await patch(client.clientId, token, { scope: "openid profile" })).status).toBe(200);
    expect(await authorizeAnswer(client.clientId, person.cookie)).toEqual({
      status: 302,
      to: "client",
      error: "invalid_scope",
    });
  });

  it("a resource taken off is invalid_target (RFC 8707 §2)", async () => {
    const token = await adminToken();
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    expect((await patch(client.clientId, token, { resources: [OTHER_API] })).status).toBe(200);
    expect(await authorizeAnswer(client.clientId, person.cookie)).toEqual({
      status: 302,
      to: "client",
      error: "invalid_target",
    });
  });
});

describe("disabling a browser client", { timeout: 60_000 }, () => {
  it("ends its refresh tokens, revokes its JWTs in the org, and the provider refuses it everywhere", async () => {
    const token = await adminToken();
    const { person, client, tokens } = await oidc.issuedTokens();
    // A code issued before the disable, redeemed after it.
    const { verifier, challenge } = await pkce();
    const back = await oidc.authorizeAndConsent(oidc.codeRequest(client.clientId, challenge), person.cookie);
    expect(await liveRefreshTokens(client.clientId)).toBe(1);
    expect(await revokedAtGateway(tokens.access_token)).toBe(false);

    const response = await patch(client.clientId, token, { disabled: true });
    expect(response.status).toBe(200);
    expect(((await response.json()) as View).disabled).toBe(true);
    expect(await liveRefreshTokens(client.clientId)).toBe(0);
    expect(await clientRevocations(person.orgId)).toContain(client.clientId);
    expect(await revokedAtGateway(tokens.access_token)).toBe(true);
    // Audited as every admin call is, with what it did and where it revoked.
    await expect
      .poll(async () => {
        const row = await env.AUDIT_DB.prepare(
          "SELECT detail FROM audit_event WHERE kind = 'admin.action' AND detail LIKE ? AND detail LIKE '%oidc_client.disable%'",
        )
          .bind(`%${client.clientId}%`)
          .first<{ detail: string }>();
        return row ? JSON.parse(row.detail) : null;
      })
      .toMatchObject({ action: "oidc_client.disable", status: 200, revoked_in: [person.orgId] });

    // The plugin's check (validateClientCredentials) comes before the token's: invalid_client, 401 for Basic.
    expect(await oauthError(await refresh(tokens.refresh_token ?? "", client))).toEqual(
      expect.objectContaining({ status: 401, error: "invalid_client" }),
    );
    expect(await oauthError(await redeem(back.searchParams.get("code") ?? "", verifier, client))).toEqual(
      expect.objectContaining({ status: 401, error: "invalid_client" }),
    );
    // Better Auth's own code, not an RFC 6749 one: its error page, never a redirect to the client.
    expect(await authorizeAnswer(client.clientId, person.cookie)).toEqual({
      status: 302,
      to: "provider",
      error: "client_disabled",
    });
  });

  it("revokes a JWT whose org no consent or refresh token names any more: the issuer recorded it before signing", async () => {
    const token = await adminToken();
    const { person, client, tokens } = await oidc.issuedTokens();
    // The person deleted their consent; a grant without offline_access leaves no refresh token.
    await env.DB.batch(
      ["oidc_consent", "oidc_refresh_token", "oidc_access_token"].map((table) =>
        env.DB.prepare(`DELETE FROM ${table} WHERE client_id = ?`).bind(client.clientId),
      ),
    );
    expect((await patch(client.clientId, token, { disabled: true })).status).toBe(200);
    expect(await clientRevocations(person.orgId)).toContain(client.clientId);
    expect(await revokedAtGateway(tokens.access_token)).toBe(true);
  });

  it("enabling it again lets people sign in anew; the ended refresh token stays ended", async () => {
    const token = await adminToken();
    const { person, client, tokens } = await oidc.issuedTokens();
    expect((await patch(client.clientId, token, { disabled: true })).status).toBe(200);
    const enabled = await patch(client.clientId, token, { disabled: false });
    expect(enabled.status).toBe(200);
    expect(((await enabled.json()) as View).disabled).toBe(false);

    const { verifier, challenge } = await pkce();
    const back = await oidc.authorizeAndConsent(oidc.codeRequest(client.clientId, challenge), person.cookie);
    const redeemed = await redeem(back.searchParams.get("code") ?? "", verifier, client);
    expect(redeemed.status).toBe(200);
    expect(((await redeemed.json()) as TokenResponse).access_token).toBeTruthy();
    expect(await oauthError(await refresh(tokens.refresh_token ?? "", client))).toEqual(
      expect.objectContaining({ status: 400, error: "invalid_grant" }),
    );
  });

  it("503 temporarily_unavailable when its tokens cannot be ended, the client already refused; a retry finishes", async () => {
    const token = await adminToken();
    const { client, tokens } = await oidc.issuedTokens();
    const lift = await refuseRevocation(client.clientId);
    try {
      await expectHttpError(await patch(client.clientId, token, { disabled: true }), 503, "temporarily_unavailable");
    } finally {
      await lift();
    }
    expect(await liveRefreshTokens(client.clientId)).toBe(1);
    expect(await oauthError(await refresh(tokens.refresh_token ?? "", client))).toEqual(
      expect.objectContaining({ status: 401, error: "invalid_client" }),
    );
    expect((await patch(client.clientId, token, { disabled: true })).status).toBe(200);
    expect(await liveRefreshTokens(client.clientId)).toBe(0);
  });
});

describe("rotating a browser client's secret", { timeout: 60_000 }, () => {
  it("shows the new secret once, stores its hash, and the old secret is refused at once", async () => {
    const token = await adminToken();
    const { client, tokens } = await oidc.issuedTokens();
    const response = await adminRequest("POST", `/oidc-clients/${client.clientId}/rotate-secret`, { token });
    expect(response.status).toBe(200);
    const view = (await response.json()) as View;
    expect(view.client_secret).toMatch(/^mas_/);
    expect(view.client_secret).not.toBe(client.clientSecret);
    const row = await env.DB.prepare("SELECT client_secret FROM oidc_client WHERE client_id = ?")
      .bind(client.clientId)
      .first<{ client_secret: string }>();
    expect(row?.client_secret.startsWith("sha256:")).toBe(true);
    expect(row?.client_secret).not.toContain(view.client_secret ?? "");
    const shown = await adminRequest("GET", `/oidc-clients/${client.clientId}`, { token });
    expect(await shown.text()).not.toContain(view.client_secret ?? "");

    expect(await oauthError(await refresh(tokens.refresh_token ?? "", client))).toEqual(
      expect.objectContaining({ status: 401, error: "invalid_client" }),
    );
    const rotated = { clientId: client.clientId, clientSecret: view.client_secret ?? "" };
    expect((await refresh(tokens.refresh_token ?? "", rotated)).status).toBe(200);
  });

  it("a public client has no secret to rotate: 409 conflict", async () => {
    const token = await adminToken();
    const client = await oidc.browserClient({ type: "public" });
    await expectHttpError(
      await adminRequest("POST", `/oidc-clients/${client.clientId}/rotate-secret`, { token }),
      409,
      "conflict",
    );
  });
});

describe("deleting a browser client", { timeout: 60_000 }, () => {
  it("revokes its JWTs in the org, and the provider no longer knows it", async () => {
    const token = await adminToken();
    const { person, client, tokens } = await oidc.issuedTokens();
    const { verifier, challenge } = await pkce();
    const back = await oidc.authorizeAndConsent(oidc.codeRequest(client.clientId, challenge), person.cookie);
    const response = await adminRequest("DELETE", `/oidc-clients/${client.clientId}`, { token });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ client_id: client.clientId, deleted: true });
    expect(await clientRevocations(person.orgId)).toContain(client.clientId);
    expect(await revokedAtGateway(tokens.access_token)).toBe(true);
    await expectHttpError(await adminRequest("GET", `/oidc-clients/${client.clientId}`, { token }), 404, "not_found");
    const rows = await env.DB.prepare(
      "SELECT (SELECT count(*) FROM oidc_refresh_token WHERE client_id = ?1) + (SELECT count(*) FROM oidc_consent WHERE client_id = ?1) AS n",
    )
      .bind(client.clientId)
      .first<{ n: number }>();
    expect(rows?.n).toBe(0);

    // The refresh token went with the client: the plugin finds none (RFC 6749 §5.2 invalid_grant).
    expect(await oauthError(await refresh(tokens.refresh_token ?? "", client))).toEqual(
      expect.objectContaining({ status: 400, error: "invalid_grant" }),
    );
    expect(await oauthError(await redeem(back.searchParams.get("code") ?? "", verifier, client))).toEqual(
      expect.objectContaining({ status: 401, error: "invalid_client" }),
    );
    expect(await authorizeAnswer(client.clientId, person.cookie)).toEqual({
      status: 302,
      to: "provider",
      error: "invalid_client",
    });
  });

  it("503 temporarily_unavailable when its tokens cannot be ended: the client stays, disabled, for the retry", async () => {
    const token = await adminToken();
    const { client } = await oidc.issuedTokens();
    const lift = await refuseRevocation(client.clientId);
    try {
      await expectHttpError(
        await adminRequest("DELETE", `/oidc-clients/${client.clientId}`, { token }),
        503,
        "temporarily_unavailable",
      );
    } finally {
      await lift();
    }
    const shown = await adminRequest("GET", `/oidc-clients/${client.clientId}`, { token });
    expect(((await shown.json()) as View).disabled).toBe(true);
    expect((await adminRequest("DELETE", `/oidc-clients/${client.clientId}`, { token })).status).toBe(200);
    expect(await liveRefreshTokens(client.clientId)).toBe(0);
  });
});
