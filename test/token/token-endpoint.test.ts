import { env, exports } from "cloudflare:workers";
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { FIRST_PARTY_CLIENT_ID, GRANT_TYPE, TOKEN_TYPE } from "../../shared/contracts/tokens.ts";
import { seedSession } from "./fixtures.ts";

const AUDIENCE = env.ALLOWED_AUDIENCES.split(" ")[0] as string;

function exchange(params: Record<string, string> | URLSearchParams, init: { contentType?: string } = {}) {
  const body = params instanceof URLSearchParams ? params : new URLSearchParams(params);
  return exports.default.fetch(
    new Request("http://localhost/oauth2/token", {
      method: "POST",
      headers: { "Content-Type": init.contentType ?? "application/x-www-form-urlencoded" },
      body,
    }),
  );
}

function sessionParams(token: string, extra: Record<string, string> = {}) {
  return {
    grant_type: GRANT_TYPE.tokenExchange,
    subject_token: token,
    subject_token_type: TOKEN_TYPE.session,
    audience: AUDIENCE,
    ...extra,
  };
}

async function expectOAuthError(response: Response, status: number, error: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get("Cache-Control")).toBe("no-store");
  const body = (await response.json()) as { error: string; error_description: string };
  expect(body.error).toBe(error);
  expect(typeof body.error_description).toBe("string");
}

async function jwks() {
  return (await (await exports.default.fetch("http://localhost/.well-known/jwks.json")).json()) as {
    keys: Record<string, unknown>[];
  };
}

describe("POST /oauth2/token: session exchange", () => {
  it("mints an RFC 9068 access token that verifies against the served JWKS", async () => {
    const s = await seedSession({ role: "owner,admin" });
    const response = await exchange(sessionParams(s.token));
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      issued_token_type: TOKEN_TYPE.accessToken,
      token_type: "Bearer",
      scope: "documents:read",
    });
    expect(body.expires_in).toBe(Number(env.ACCESS_TOKEN_TTL_SECONDS));

    const token = body.access_token as string;
    const keys = await jwks();
    expect(decodeProtectedHeader(token)).toEqual({ alg: "ES256", typ: "at+jwt", kid: keys.keys[0]?.kid });
    const { payload } = await jwtVerify(token, createLocalJWKSet(keys as JSONWebKeySet), {
      issuer: env.ISSUER,
      audience: AUDIENCE,
      typ: "at+jwt",
      algorithms: ["ES256"],
    });
    expect(payload).toMatchObject({
      sub: s.userId,
      client_id: FIRST_PARTY_CLIENT_ID,
      scope: "documents:read",
      org_id: s.orgId,
      roles: ["owner", "admin"],
      sid: s.sessionId,
    });
    expect(payload.exp! - payload.iat!).toBe(Number(env.ACCESS_TOKEN_TTL_SECONDS));
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("never lets a token outlive its session", async () => {
    const s = await seedSession({ expiresInMs: 60_000 });
    const body = (await (await exchange(sessionParams(s.token))).json()) as { expires_in: number };
    expect(body.expires_in).toBeLessThanOrEqual(60);
  });

  it("records an audit event for the issue, without the token", async () => {
    const s = await seedSession();
    const { access_token } = (await (await exchange(sessionParams(s.token))).json()) as { access_token: string };
    await expect
      .poll(() =>
        env.DB.prepare(
          "SELECT outcome, subject, org_id, detail FROM audit_event WHERE kind = 'token.issued' AND subject = ?",
        )
          .bind(s.userId)
          .first(),
      )
      .toMatchObject({ outcome: "issued", org_id: s.orgId });
    const rows = await env.DB.prepare("SELECT detail FROM audit_event").all<{ detail: string }>();
    expect(
      rows.results.some((r) => r.detail.includes(access_token.split(".")[2] as string) || r.detail.includes(s.token)),
    ).toBe(false);
  });
});

describe("POST /oauth2/token: errors (RFC 6749 §5.2, RFC 8693 §2.2.2)", () => {
  it("invalid_request: not form-encoded, missing or repeated parameters, wrong token types", async () => {
    const s = await seedSession();
    await expectOAuthError(
      await exchange(sessionParams(s.token), { contentType: "application/json" }),
      400,
      "invalid_request",
    );
    await expectOAuthError(
      await exchange({
        grant_type: GRANT_TYPE.tokenExchange,
        subject_token_type: TOKEN_TYPE.session,
        audience: AUDIENCE,
      }),
      400,
      "invalid_request",
    );
    const repeated = new URLSearchParams(sessionParams(s.token));
    repeated.append("audience", AUDIENCE);
    await expectOAuthError(await exchange(repeated), 400, "invalid_request");
    await expectOAuthError(
      await exchange(sessionParams(s.token, { subject_token_type: TOKEN_TYPE.jwt })),
      400,
      "invalid_request",
    );
    await expectOAuthError(
      await exchange(sessionParams(s.token, { requested_token_type: TOKEN_TYPE.idJag })),
      400,
      "invalid_request",
    );
    await expectOAuthError(await exchange({ subject_token: s.token }), 400, "invalid_request");
  });

  it("unsupported_grant_type", async () => {
    await expectOAuthError(
      await exchange({ grant_type: "password", username: "a", password: "b" }),
      400,
      "unsupported_grant_type",
    );
  });

  it("invalid_grant: unknown, expired, org-less or non-member sessions", async () => {
    await expectOAuthError(await exchange(sessionParams("no-such-session")), 400, "invalid_grant");
    const expired = await seedSession({ expiresInMs: -1000 });
    await expectOAuthError(await exchange(sessionParams(expired.token)), 400, "invalid_grant");
    const noOrg = await seedSession({ activeOrg: false });
    await expectOAuthError(await exchange(sessionParams(noOrg.token)), 400, "invalid_grant");
    const notMember = await seedSession({ member: false });
    await expectOAuthError(await exchange(sessionParams(notMember.token)), 400, "invalid_grant");
  });

  it("invalid_target for an audience we do not serve", async () => {
    const s = await seedSession();
    await expectOAuthError(
      await exchange(sessionParams(s.token, { audience: "https://elsewhere.example/api" })),
      400,
      "invalid_target",
    );
  });

  it("invalid_scope for a scope we do not know", async () => {
    const s = await seedSession();
    await expectOAuthError(
      await exchange(sessionParams(s.token, { scope: "documents:read admin" })),
      400,
      "invalid_scope",
    );
  });

  it("invalid_client (401) for any client but the first-party one", async () => {
    const s = await seedSession();
    const response = await exchange(sessionParams(s.token, { client_id: "someone-else" }));
    await expectOAuthError(response, 401, "invalid_client");
    expect(response.headers.get("WWW-Authenticate")).toContain("Basic");
  });

  it("records refusals as audit events", async () => {
    await exchange(sessionParams("definitely-not-a-session"));
    await expect
      .poll(
        async () =>
          (
            await env.DB.prepare(
              "SELECT count(*) AS n FROM audit_event WHERE kind = 'token.refused' AND detail LIKE '%invalid_grant%'",
            ).first<{ n: number }>()
          )?.n,
      )
      .toBeGreaterThan(0);
    const rows = await env.DB.prepare("SELECT detail FROM audit_event").all<{ detail: string }>();
    expect(rows.results.some((r) => r.detail.includes("definitely-not-a-session"))).toBe(false);
  });
});
