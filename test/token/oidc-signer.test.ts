import { env } from "cloudflare:workers";
import { decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { BACKCHANNEL_LOGOUT_EVENT, userinfoAudience } from "../../shared/contracts/oidc.ts";
import { tokenConfig } from "../../workers/token/src/config.ts";
import { keyStore } from "../../workers/token/src/keys/signing-keys.ts";
import {
  recordBrowserClientOrg,
  recordBrowserSessionClient,
} from "../../workers/token/src/oidc/browser-client-store.ts";
import { signBrowserToken } from "../../workers/token/src/oidc/sign-browser-token.ts";
import { seedSession } from "./fixtures.ts";

const config = tokenConfig(env);
const API = config.defaultAudience;

function accessClaims(overrides: Record<string, unknown> = {}) {
  const iat = Math.floor(Date.now() / 1000);
  return {
    iss: config.issuer,
    sub: "user-1",
    aud: [API, userinfoAudience(config.issuer)],
    client_id: "oidc_client",
    azp: "oidc_client",
    org_id: "org-1",
    scope: "openid documents:read",
    jti: crypto.randomUUID(),
    iat,
    exp: iat + 600,
    grant_id: GRANT_ID,
    ...overrides,
  };
}

/** The grant a browser access token rests on (shared/contracts/oidc.ts BROWSER_GRANT_ID). */
const GRANT_ID = `oidc-grant:${"A".repeat(43)}`;

function sign(kind: "access_token" | "id_token" | "logout_token", claims: Record<string, unknown>) {
  return signBrowserToken(keyStore(env, config), config, { kind, claims }, BINDINGS);
}

const BINDINGS = {
  registeredAudiences: async () => [],
  recordClientOrg: (clientId: string, orgId: string) => recordBrowserClientOrg(env.DB, clientId, orgId),
  recordSessionClient: (sessionId: string, clientId: string) => recordBrowserSessionClient(env.DB, sessionId, clientId),
};

async function recordedOrgs(clientId: string): Promise<string[]> {
  const { results } = await env.DB.prepare("SELECT org_id FROM oidc_client_org WHERE client_id = ?")
    .bind(clientId)
    .all<{ org_id: string }>();
  return results.map((r) => r.org_id);
}

describe("TokenService.signBrowserToken: the issuer signs only what it issues", () => {
  it("signs a well-formed access token as at+jwt with the current key", async () => {
    const result = await sign("access_token", accessClaims());
    expect(result.ok).toBe(true);
    if (result.ok) expect(decodeProtectedHeader(result.token)).toMatchObject({ alg: "ES256", typ: "at+jwt" });
  });

  it("records the client's org before it signs, so disabling the client knows where to revoke; a refusal records nothing", async () => {
    const clientId = accessClaims().client_id as string;
    const orgId = `org-${crypto.randomUUID()}`;
    expect((await sign("access_token", accessClaims({ org_id: orgId }))).ok).toBe(true);
    expect((await sign("access_token", accessClaims({ org_id: orgId }))).ok).toBe(true);
    expect(await recordedOrgs(clientId)).toContain(orgId);
    const refusedOrg = `org-${crypto.randomUUID()}`;
    expect((await sign("access_token", accessClaims({ org_id: refusedOrg, act: { sub: "x" } }))).ok).toBe(false);
    expect(await recordedOrgs(clientId)).not.toContain(refusedOrg);
  });

  const refusals: [string, Record<string, unknown>, string][] = [
    ["another issuer", { iss: "https://evil.example" }, "iss"],
    ["an audience the issuer does not serve", { aud: ["https://evil.example/api"] }, "aud"],
    ["only the userinfo audience", { aud: [userinfoAudience(config.issuer)] }, "aud"],
    ["no org", { org_id: undefined }, "org_id"],
    // RFC 9110 §5.5: sub and org_id become the gateway's X-User-ID and X-Org-ID unchanged.
    ["a sub with CR/LF", { sub: "user-1\r\nX-Org-ID: other" }, "sub"],
    ["a sub with a NUL", { sub: "user\u00001" }, "sub"],
    ["a sub with leading whitespace", { sub: " user-1" }, "sub"],
    ["an org_id with a control character", { org_id: "org\u001b1" }, "org_id"],
    ["an org_id with trailing whitespace", { org_id: "org-1\t" }, "org_id"],
    ["a machine client's id", { client_id: "mac_abc" }, "client_id"],
    ["the operators' admin scope", { scope: "openid admin" }, "scope"],
    ["a delegation chain", { act: { sub: "agent" } }, "act"],
    ["a longer life than any access token", { exp: Math.floor(Date.now() / 1000) + 7200 }, "lifetime"],
    ["an iat far from now", { iat: Math.floor(Date.now() / 1000) - 600 }, "iat"],
    // RFC 7009 §2.1: every browser access token can be cut off with its grant's refresh token.
    ["no grant", { grant_id: undefined }, "grant_id"],
    ["a delegation grant's id", { grant_id: crypto.randomUUID() }, "grant_id"],
    ["a grant id too long for a revocation", { grant_id: `oidc-grant:${"A".repeat(300)}` }, "grant_id"],
    ["a chain of grants", { grant_chain: ["dg_1"] }, "grant_chain"],
    // …nor names a chained grant's client: a browser token rests on its own grant alone.
    ["a chained grant's client", { grant_chain_clients: { "oidc-grant:g": "oidc_a" } }, "grant_chain_clients"],
  ];
  for (const [what, overrides, claim] of refusals) {
    it(`refuses an access token with ${what}`, async () => {
      expect(await sign("access_token", accessClaims(overrides))).toEqual({
        ok: false,
        error: `refused claim: ${claim}`,
      });
    });
  }

  it("signs an ID token for a browser client as a plain JWT, and refuses one for anyone else", async () => {
    const iat = Math.floor(Date.now() / 1000);
    const id = { iss: config.issuer, sub: "user-1", aud: "oidc_client", iat, exp: iat + 3600 };
    const result = await sign("id_token", id);
    expect(result.ok).toBe(true);
    if (result.ok) expect(decodeProtectedHeader(result.token).typ).toBe("JWT");
    expect(await sign("id_token", { ...id, aud: API })).toEqual({ ok: false, error: "refused claim: aud" });
    // Back-Channel Logout §2.4: `events` marks a Logout Token, never an ID token.
    expect(await sign("id_token", { ...id, events: { [BACKCHANNEL_LOGOUT_EVENT]: {} } })).toEqual({
      ok: false,
      error: "refused claim: events",
    });
    expect(await sign("id_token", { ...id, exp: iat + 36_000 })).toEqual({
      ok: false,
      error: "refused claim: lifetime",
    });
  });

  it("signs a back-channel Logout Token as logout+jwt, and refuses one shaped otherwise (OIDC Back-Channel Logout 1.0 §2.4)", async () => {
    const iat = Math.floor(Date.now() / 1000);
    // As Better Auth's jwt plugin hands it over: nbf present but undefined.
    const logout = {
      iss: config.issuer,
      aud: "oidc_client",
      sub: "user-1",
      sid: "session-1",
      iat,
      exp: iat + 120,
      nbf: undefined,
      jti: crypto.randomUUID(),
      events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
    };
    const result = await sign("logout_token", logout);
    expect(result.ok).toBe(true);
    if (result.ok) expect(decodeProtectedHeader(result.token)).toMatchObject({ alg: "ES256", typ: "logout+jwt" });
    const refused: [string, Record<string, unknown>][] = [
      ["aud", { aud: API }],
      ["aud", { aud: ["oidc_client"] }],
      ["sid", { sid: undefined }],
      ["jti", { jti: "" }],
      ["nonce", { nonce: "n" }],
      ["events", { events: { [BACKCHANNEL_LOGOUT_EVENT]: { extra: 1 } } }],
      ["events", { events: { [BACKCHANNEL_LOGOUT_EVENT]: {}, "urn:other": {} } }],
      ["events", { events: [] }],
      ["claims", { scope: "openid" }],
      ["lifetime", { exp: iat + 3600 }],
    ];
    for (const [claim, change] of refused) {
      expect({ change, result: await sign("logout_token", { ...logout, ...change }) }).toEqual({
        change,
        result: { ok: false, error: `refused claim: ${claim}` },
      });
    }
  });

  it("records each client signed a token naming a session (ID or access token) before it signs, only while both exist; a Logout Token records nothing", async () => {
    const { sessionId } = await seedSession();
    const clientId = `oidc_${crypto.randomUUID()}`;
    await env.DB.prepare("INSERT INTO oidc_client (id, client_id, redirect_uris) VALUES (?, ?, '[]')")
      .bind(crypto.randomUUID(), clientId)
      .run();
    const recorded = async (sid: string) =>
      (
        await env.DB.prepare("SELECT client_id FROM oidc_session_client WHERE session_id = ?")
          .bind(sid)
          .all<{ client_id: string }>()
      ).results.map((r) => r.client_id);
    const iat = Math.floor(Date.now() / 1000);
    const id = { iss: config.issuer, sub: "user-1", aud: clientId, sid: sessionId, iat, exp: iat + 3600 };
    expect((await sign("id_token", id)).ok).toBe(true);
    expect((await sign("id_token", id)).ok).toBe(true);
    expect(await recorded(sessionId)).toEqual([clientId]);
    // A session already gone (or a client): nothing to tell later, nothing recorded, the token still signed.
    const gone = `s-${crypto.randomUUID()}`;
    expect((await sign("id_token", { ...id, sid: gone })).ok).toBe(true);
    expect((await sign("access_token", accessClaims({ client_id: "oidc_unknown", sid: gone }))).ok).toBe(true);
    expect(await recorded(gone)).toEqual([]);
    const logout = {
      iss: config.issuer,
      aud: "oidc_unknown",
      sub: "user-1",
      sid: gone,
      jti: crypto.randomUUID(),
      iat,
      exp: iat + 120,
      events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
    };
    expect((await sign("logout_token", logout)).ok).toBe(true);
    expect(await recorded(gone)).toEqual([]);
    // The rows go with the session.
    await env.DB.prepare("DELETE FROM session WHERE id = ?").bind(sessionId).run();
    expect(await recorded(sessionId)).toEqual([]);
  });
});
