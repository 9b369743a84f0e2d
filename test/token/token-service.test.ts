import { env, exports } from "cloudflare:workers";
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { SCOPE } from "../../shared/contracts/scopes.ts";
import { KV_KEY } from "../../shared/contracts/storage-keys.ts";
import { FIRST_PARTY_CLIENT_ID, GRANT_TYPE, JWT_TYP, SIGNING_ALG, TOKEN_TYPE } from "../../shared/contracts/tokens.ts";
import { PUBLISHED_STATUSES } from "../../workers/token/src/keys/signing-keys.ts";
import { anonymousRefusalsSince } from "../support/runtime/anonymous-refusal-rows.ts";
import { AUDIENCE, seedSession } from "./fixtures.ts";

const service = exports.TokenService;

function exchange(sessionToken: string, extra: { audience?: string; scope?: string } = {}) {
  return service.exchangeSession({ sessionToken, audience: AUDIENCE, ...extra });
}

async function boundOrgs(sessionId: string): Promise<string[]> {
  const { results } = await env.DB.prepare("SELECT org_id FROM session_org WHERE session_id = ? ORDER BY org_id")
    .bind(sessionId)
    .all<{ org_id: string }>();
  return results.map((r) => r.org_id);
}

function expectError(result: { status: number; body: Record<string, string | number> }, status: number, code: string) {
  expect(result.status).toBe(status);
  expect(result.body.error).toBe(code);
  expect(typeof result.body.error_description).toBe("string");
  expect(result.body).not.toHaveProperty("access_token");
}

describe("TokenService.exchangeSession (RPC): issue", () => {
  it("mints an RFC 9068 access token with an RFC 6749 §5.1 body", async () => {
    const s = await seedSession({ role: "owner,admin" });
    const result = await exchange(s.token);
    expect(result.status).toBe(200);
    expect(Object.keys(result.body).sort()).toEqual(
      ["access_token", "expires_in", "issued_token_type", "scope", "token_type"].sort(),
    );
    expect(result.body).toMatchObject({
      issued_token_type: TOKEN_TYPE.accessToken,
      token_type: "Bearer",
      expires_in: Number(env.ACCESS_TOKEN_TTL_SECONDS),
      scope: SCOPE.documentsRead,
    });
    const jwks = (await service.jwks()) as JSONWebKeySet;
    const { payload, protectedHeader } = await jwtVerify(String(result.body.access_token), createLocalJWKSet(jwks), {
      issuer: env.ISSUER,
      audience: AUDIENCE,
      typ: JWT_TYP.accessToken,
      algorithms: [SIGNING_ALG],
    });
    expect(protectedHeader).toMatchObject({ alg: SIGNING_ALG, typ: JWT_TYP.accessToken });
    expect(payload).toMatchObject({
      sub: s.userId,
      client_id: FIRST_PARTY_CLIENT_ID,
      scope: SCOPE.documentsRead,
      org_id: s.orgId,
      roles: ["owner", "admin"],
      sid: s.sessionId,
    });
    expect(payload.exp! - payload.iat!).toBe(Number(env.ACCESS_TOKEN_TTL_SECONDS));
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("normalises the requested scope (RFC 6749 §3.3: order and repeats carry no meaning)", async () => {
    const s = await seedSession();
    const result = await exchange(s.token, { scope: ` ${SCOPE.documentsRead}  ${SCOPE.documentsRead} ` });
    expect(result).toMatchObject({ status: 200, body: { scope: SCOPE.documentsRead } });
  });

  it("never lets a token outlive its session", async () => {
    const s = await seedSession({ expiresInMs: 60_000 });
    const result = await exchange(s.token);
    expect(result.status).toBe(200);
    expect(Number(result.body.expires_in)).toBeLessThanOrEqual(60);
  });

  it("records an audit event for the issue, without the token", async () => {
    const s = await seedSession();
    const result = await exchange(s.token);
    const token = String(result.body.access_token);
    await expect
      .poll(() =>
        env.AUDIT_DB.prepare(
          "SELECT outcome, subject, org_id, client_id, detail FROM audit_event WHERE kind = 'token.issued' AND subject = ?",
        )
          .bind(s.userId)
          .first(),
      )
      .toMatchObject({ outcome: "issued", org_id: s.orgId, client_id: FIRST_PARTY_CLIENT_ID });
    const row = await env.AUDIT_DB.prepare("SELECT detail FROM audit_event WHERE subject = ?")
      .bind(s.userId)
      .first<{ detail: string }>();
    const detail = JSON.parse(row!.detail) as Record<string, unknown>;
    expect(detail).toMatchObject({ channel: "rpc", grant_type: GRANT_TYPE.tokenExchange, sid: s.sessionId });
    expect(row!.detail).not.toContain(token.split(".")[2]);
    expect(row!.detail).not.toContain(s.token);
  });
});

describe("TokenService.exchangeSession (RPC): the session is bound to its org before a token is signed", () => {
  it("records the (session, org) pair in session_org", async () => {
    const s = await seedSession();
    expect(await boundOrgs(s.sessionId)).toEqual([]);
    expect((await exchange(s.token)).status).toBe(200);
    expect(await boundOrgs(s.sessionId)).toEqual([s.orgId]);
    // A second mint for the same pair keeps the one row.
    expect((await exchange(s.token)).status).toBe(200);
    expect(await boundOrgs(s.sessionId)).toEqual([s.orgId]);
  });

  it("adds the new org when the session's active org changed, so a sign-out revokes in both", async () => {
    const s = await seedSession();
    const other = await seedSession();
    expect((await exchange(s.token)).status).toBe(200);
    await env.DB.prepare("INSERT INTO member (id, organization_id, user_id, role, created_at) VALUES (?, ?, ?, ?, ?)")
      .bind(`m-${crypto.randomUUID()}`, other.orgId, s.userId, "member", Date.now())
      .run();
    await env.DB.prepare("UPDATE session SET active_organization_id = ? WHERE id = ?")
      .bind(other.orgId, s.sessionId)
      .run();
    const result = await exchange(s.token);
    expect(result.status).toBe(200);
    expect(await boundOrgs(s.sessionId)).toEqual([s.orgId, other.orgId].sort());
  });

  it("invalid_grant for a session deleted (signed out) before the exchange, and binds nothing", async () => {
    const s = await seedSession();
    await env.DB.prepare("DELETE FROM session WHERE id = ?").bind(s.sessionId).run();
    expectError(await exchange(s.token), 400, "invalid_grant");
    expect(await boundOrgs(s.sessionId)).toEqual([]);
  });

  it("a sign-out after a mint finds the org of the token it must revoke", async () => {
    const s = await seedSession();
    expect((await exchange(s.token)).status).toBe(200);
    // What the authn Worker's sign-out does: delete the session, then read
    // the orgs to revoke it in.
    await env.DB.prepare("DELETE FROM session WHERE id = ?").bind(s.sessionId).run();
    expect(await boundOrgs(s.sessionId)).toEqual([s.orgId]);
    expectError(await exchange(s.token), 400, "invalid_grant");
  });
});

describe("TokenService.exchangeSession (RPC): refusals (RFC 6749 §5.2, RFC 8693 §2.2.2)", () => {
  it("invalid_grant: unknown, expired, org-less or non-member sessions", async () => {
    expectError(await exchange("no-such-session"), 400, "invalid_grant");
    const expired = await seedSession({ expiresInMs: -1000 });
    expectError(await exchange(expired.token), 400, "invalid_grant");
    const noOrg = await seedSession({ activeOrg: false });
    expectError(await exchange(noOrg.token), 400, "invalid_grant");
    const notMember = await seedSession({ member: false });
    expectError(await exchange(notMember.token), 400, "invalid_grant");
    for (const s of [expired, noOrg, notMember]) expect(await boundOrgs(s.sessionId)).toEqual([]);
  });

  it("invalid_target for an audience we do not serve", async () => {
    const s = await seedSession();
    expectError(await exchange(s.token, { audience: "https://elsewhere.example/api" }), 400, "invalid_target");
    expect(await boundOrgs(s.sessionId)).toEqual([]);
  });

  it("invalid_scope for a scope we do not know", async () => {
    const s = await seedSession();
    expectError(await exchange(s.token, { scope: `${SCOPE.documentsRead} admin` }), 400, "invalid_scope");
  });

  it("invalid_request for a missing session token or audience", async () => {
    expectError(await exchange(""), 400, "invalid_request");
    const s = await seedSession();
    expectError(await service.exchangeSession({ sessionToken: s.token, audience: "" }), 400, "invalid_request");
  });

  // Refused before any principal is known, so shared/audit folds them into
  // per-window aggregates (error and grant type, with a count).
  it("records refusals as audit events, without the session token", async () => {
    const secret = `refused-session-${crypto.randomUUID()}`;
    const sent = Date.now();
    expectError(await exchange(secret), 400, "invalid_grant");
    // This refusal's own row (earlier tests' invalid_grant refusals, of any file, share the table),
    // so the check below runs once it has arrived.
    await expect
      .poll(async () => (await anonymousRefusalsSince("token.refused", sent, { error: "invalid_grant" })).length)
      .toBeGreaterThan(0);
    const rows = await env.AUDIT_DB.prepare("SELECT detail FROM audit_event").all<{ detail: string }>();
    expect(rows.results.some((r) => r.detail.includes(secret))).toBe(false);
  });
});

describe("TokenService.jwks (RPC)", () => {
  it("returns D1's key set, whatever the KV copy holds", async () => {
    const s = await seedSession();
    const token = String((await exchange(s.token)).body.access_token);
    const published = await env.KV.get(KV_KEY.jwks);
    await env.KV.put(KV_KEY.jwks, JSON.stringify({ keys: [{ kid: "sentinel", kty: "EC" }] }));
    try {
      const jwks = await service.jwks();
      // Every published key: a cron run earlier in this runtime may have staged the next one.
      const { results } = await env.DB.prepare(
        `SELECT kid FROM signing_key WHERE status IN (${PUBLISHED_STATUSES.map(() => "?").join(", ")})`,
      )
        .bind(...PUBLISHED_STATUSES)
        .all<{ kid: string }>();
      expect(jwks.keys.map((k) => (k as { kid?: string }).kid).sort()).toEqual(results.map((r) => r.kid).sort());
      for (const key of jwks.keys) expect(key).not.toHaveProperty("d");
      await expect(jwtVerify(token, createLocalJWKSet(jwks as JSONWebKeySet))).resolves.toBeDefined();
    } finally {
      if (published) await env.KV.put(KV_KEY.jwks, published);
    }
  });
});
