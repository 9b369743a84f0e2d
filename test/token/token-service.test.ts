import { env, exports } from "cloudflare:workers";
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { SCOPE } from "../../shared/contracts/scopes.ts";
import { FIRST_PARTY_CLIENT_ID, JWT_TYP, SIGNING_ALG, TOKEN_TYPE } from "../../shared/contracts/tokens.ts";
import { seedSession } from "./fixtures.ts";

const AUDIENCE = env.ALLOWED_AUDIENCES.split(" ")[0] as string;
const service = exports.TokenService;

describe("TokenService.exchangeSession (RPC)", () => {
  it("mints an RFC 9068 access token with an RFC 6749 §5.1 body", async () => {
    const s = await seedSession({ role: "owner,admin" });
    const result = await service.exchangeSession({ sessionToken: s.token, audience: AUDIENCE });
    expect(result.status).toBe(200);
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
    expect(protectedHeader.typ).toBe(JWT_TYP.accessToken);
    expect(payload).toMatchObject({
      sub: s.userId,
      client_id: FIRST_PARTY_CLIENT_ID,
      org_id: s.orgId,
      roles: ["owner", "admin"],
      sid: s.sessionId,
    });
  });

  it("records the (session, org) pair in session_org before it signs", async () => {
    const s = await seedSession();
    const result = await service.exchangeSession({ sessionToken: s.token, audience: AUDIENCE });
    expect(result.status).toBe(200);
    const rows = await env.DB.prepare("SELECT org_id FROM session_org WHERE session_id = ?").bind(s.sessionId).all();
    expect(rows.results).toEqual([{ org_id: s.orgId }]);
  });

  it("invalid_grant for a deleted session, and binds nothing", async () => {
    const s = await seedSession();
    await env.DB.prepare("DELETE FROM session WHERE id = ?").bind(s.sessionId).run();
    const result = await service.exchangeSession({ sessionToken: s.token, audience: AUDIENCE });
    expect(result).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
    const rows = await env.DB.prepare("SELECT 1 FROM session_org WHERE session_id = ?").bind(s.sessionId).all();
    expect(rows.results).toEqual([]);
  });
});
