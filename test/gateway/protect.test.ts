import { env, exports } from "cloudflare:workers";
import { base64url, generateKeyPair, SignJWT } from "jose";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { anonymousRefusalsSince } from "../support/runtime/anonymous-refusal-rows.ts";
import { MAX_AUTHORIZATION_HEADER_BYTES } from "../../workers/gateway/src/trust/bearer-token.ts";
import { memberClaims as claims, type TestSigner, testSigner } from "./signed-token.ts";

// The gateway with the real demo service behind it and the real per-org
// Durable Object; the token is signed by a key this test publishes in the
// KV copy of the JWKS, exactly where the token Worker would put its own.
const URL_DOCS = `http://localhost:8787${ENDPOINT.documents}`;

let signer: TestSigner;

beforeAll(async () => {
  signer = await testSigner();
});

beforeEach(() => signer.publish());

function sign(payload: Record<string, unknown>, header: Record<string, unknown> = {}) {
  return signer.sign(payload, header);
}

function get(headers: Record<string, string> | [string, string][] = {}) {
  return exports.default.fetch(new Request(URL_DOCS, { headers }));
}

async function expectInvalidToken(response: Response, code: string) {
  expect(response.status).toBe(401);
  const challenge = response.headers.get("WWW-Authenticate") ?? "";
  expect(challenge).toMatch(/^Bearer realm="mono-auth", error="invalid_token", error_description="/);
  expect(challenge).toContain(`${code}:`);
  expect(await response.json()).toMatchObject({
    error: "invalid_token",
    error_description: expect.stringMatching(new RegExp(`^${code}:`)),
  });
}

describe("gateway: allowed requests", () => {
  it("forwards with the trusted headers, and the demo returns only what the filter allows", async () => {
    const response = await get({ Authorization: `Bearer ${await sign(claims())}` });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      user_id: string;
      org_id: string;
      documents: { org_id: string; classification: string }[];
    };
    expect(body.user_id).toBe("user-1");
    expect(body.org_id).toBe("org-1");
    expect(body.documents.map((d) => d.classification).sort()).toEqual(["internal", "public"]);
    expect(body.documents.every((d) => d.org_id === "org-1")).toBe(true);
  });

  it("never lets spoofed trusted headers through, in any spelling", async () => {
    const token = await sign(claims({ roles: ["member"] }));
    const response = await get([
      ["Authorization", `Bearer ${token}`],
      ["X-User-ID", "attacker"],
      ["x_user_id", "attacker"],
      ["X-Org-ID", "org_someone_else"],
      ["X_ABAC_FILTER", "{}"],
      ["X-Actor-ID", "evil-agent"],
      ["Connection", "X-ABAC-Filter"],
    ]);
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      user_id: string;
      org_id: string;
      actor_id: string | null;
      documents: { classification: string }[];
    };
    expect(body).toMatchObject({ user_id: "user-1", org_id: "org-1", actor_id: null });
    expect(body.documents.map((d) => d.classification).sort()).toEqual(["internal", "public"]);
  });

  it("passes the delegating actor on as X-Actor-ID", async () => {
    const act = { sub: "agent-7", client_id: "mac_agent-7" };
    const response = await get({ Authorization: `Bearer ${await sign(claims({ act }))}` });
    expect(((await response.json()) as { actor_id: string }).actor_id).toBe("agent-7");
  });

  it("audits the decision in D1 under the same id, without the token", async () => {
    const jti = crypto.randomUUID();
    const token = await sign(claims({ jti }));
    expect((await get({ Authorization: `Bearer ${token}` })).status).toBe(200);
    await expect
      .poll(async () => {
        const row = await env.AUDIT_DB.prepare(
          "SELECT outcome, subject, org_id, detail FROM audit_event WHERE detail LIKE ?",
        )
          .bind(`%${jti}%`)
          .first();
        return row;
      })
      .toMatchObject({ outcome: "allow", subject: "user-1", org_id: "org-1" });
    const all = await env.AUDIT_DB.prepare("SELECT detail FROM audit_event").all<{ detail: string }>();
    expect(all.results.some((r) => r.detail.includes(token.split(".")[2] as string))).toBe(false);
  });

  it("keeps no token a caller put in the path: the segment is audited as [jws]", async () => {
    const jti = crypto.randomUUID();
    const bearer = await sign(claims({ jti }));
    // Short enough to fit the audit's field cap whole.
    const pasted = await sign({ n: 1 });
    const response = exports.default.fetch(
      new Request(`${URL_DOCS}/${pasted}`, { headers: { Authorization: `Bearer ${bearer}` } }),
    );
    // Allowed, and the demo has no such document.
    expect((await response).status).toBe(404);
    await expect
      .poll(async () => {
        const row = await env.AUDIT_DB.prepare("SELECT detail FROM audit_event WHERE detail LIKE ?")
          .bind(`%${jti}%`)
          .first<{ detail: string }>();
        return row ? (JSON.parse(row.detail) as { path: string }).path : undefined;
      })
      .toBe(`${ENDPOINT.documents}/[jws]`);
    const all = await env.AUDIT_DB.prepare("SELECT detail FROM audit_event").all<{ detail: string }>();
    expect(all.results.some((r) => r.detail.includes(pasted.split(".")[2] as string))).toBe(false);
  });
});

describe("gateway: denials", () => {
  it("401 without a token, with a bare Bearer challenge (RFC 6750 §3.1)", async () => {
    const response = await get();
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toBe('Bearer realm="mono-auth"');
  });

  it("401 with a bare Bearer challenge for another scheme's credentials (RFC 6750 §3.1), audited", async () => {
    const sent = Date.now();
    for (const value of ["Basic dXNlcjpwYXNz", "basic", "Negotiate YIIB", 'Digest username="a", realm="b"']) {
      const response = await get({ Authorization: value });
      expect(response.status).toBe(401);
      expect(response.headers.get("WWW-Authenticate")).toBe('Bearer realm="mono-auth"');
      expect(await response.json()).toEqual({ error: "unauthorized", error_description: "bearer token required" });
    }
    // These requests' own row: anonymous, so it names nothing of theirs, and earlier tests' unsupported_scheme
    // refusals share the table; only a window that took a refusal after they were sent holds theirs.
    await expect
      .poll(
        async () =>
          (await anonymousRefusalsSince("gateway.decision", sent, { error: "unsupported_scheme" }))[0]?.outcome,
      )
      .toBe("deny");
  });

  it("400 invalid_request for a malformed or oversized Authorization header", async () => {
    const token = await sign(claims());
    for (const value of [
      "Bearer",
      "Bearer a b",
      `Bearer ${"a".repeat(MAX_AUTHORIZATION_HEADER_BYTES)}`,
      // Ours beside another scheme's, and a token without its scheme: malformed, not another scheme.
      `Basic dXNlcjpwYXNz, Bearer ${token}`,
      token,
    ]) {
      const response = await get({ Authorization: value });
      expect(response.status).toBe(400);
      expect(response.headers.get("WWW-Authenticate")).toContain('error="invalid_request"');
      expect(((await response.json()) as { error: string }).error).toBe("invalid_request");
    }
  });

  it("401 for an expired token", async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectInvalidToken(
      await get({ Authorization: `Bearer ${await sign(claims({ iat: now - 900, exp: now - 60 }))}` }),
      "ERR_TOKEN_EXPIRED",
    );
  });

  it("401 for the wrong audience, issuer or typ", async () => {
    await expectInvalidToken(
      await get({ Authorization: `Bearer ${await sign(claims({ aud: "https://other.example/api" }))}` }),
      "ERR_TOKEN_AUD",
    );
    await expectInvalidToken(
      await get({ Authorization: `Bearer ${await sign(claims({ iss: "https://evil.example" }))}` }),
      "ERR_TOKEN_ISS",
    );
    await expectInvalidToken(
      await get({ Authorization: `Bearer ${await sign(claims(), { typ: "JWT" })}` }),
      "ERR_TOKEN_TYP",
    );
  });

  it("401 for alg none and for HS256 keyed with the public key", async () => {
    const header = base64url.encode(JSON.stringify({ alg: "none", typ: "at+jwt", kid: signer.kid }));
    const payload = base64url.encode(JSON.stringify(claims()));
    await expectInvalidToken(await get({ Authorization: `Bearer ${header}.${payload}.AAAA` }), "ERR_TOKEN_ALG");
    const hmac = await new SignJWT(claims())
      .setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: signer.kid })
      .sign(new TextEncoder().encode(JSON.stringify(signer.publicJwk)));
    await expectInvalidToken(await get({ Authorization: `Bearer ${hmac}` }), "ERR_TOKEN_ALG");
  });

  it("401 for a tampered payload", async () => {
    const [h, , s] = (await sign(claims())).split(".");
    const forged = base64url.encode(JSON.stringify(claims({ roles: ["owner"] })));
    await expectInvalidToken(await get({ Authorization: `Bearer ${h}.${forged}.${s}` }), "ERR_TOKEN_SIGNATURE");
  });

  it("401 for a kid the JWKS does not have, after one refetch", async () => {
    const other = await generateKeyPair("ES256");
    const token = await new SignJWT(claims())
      .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: "not-ours" })
      .sign(other.privateKey);
    await expectInvalidToken(await get({ Authorization: `Bearer ${token}` }), "ERR_TOKEN_KID_UNKNOWN");
  });

  it("401 once the token's jti, session or subject is revoked in the org's Durable Object", async () => {
    // The gateway project's files share one runtime (vitest.config.ts), and with it every org's object:
    // the org, the session and the people are this test's own, so no other file's revocation refuses
    // (or spares) them, and none of this test's reaches another file's tokens.
    const orgId = `org-${crypto.randomUUID()}`;
    const sessionGone = `session-${crypto.randomUUID()}`;
    const [offboarded, colleague] = [`user-${crypto.randomUUID()}`, `user-${crypto.randomUUID()}`];
    const stub = env.ORG_STATE.getByName(orgStateName(orgId));
    const byJti = claims({ org_id: orgId });
    await stub.revoke({ orgId, kind: "jti", value: byJti.jti, reason: "test" }, byJti.exp);
    await expectInvalidToken(await get({ Authorization: `Bearer ${await sign(byJti)}` }), "ERR_TOKEN_REVOKED");

    await stub.revoke({ orgId, kind: "session", value: sessionGone, reason: "sign-out" });
    await expectInvalidToken(
      await get({ Authorization: `Bearer ${await sign(claims({ org_id: orgId, sid: sessionGone }))}` }),
      "ERR_TOKEN_REVOKED",
    );

    await stub.revoke({ orgId, kind: "subject", value: offboarded, reason: "offboarded" });
    await expectInvalidToken(
      await get({ Authorization: `Bearer ${await sign(claims({ org_id: orgId, sub: offboarded }))}` }),
      "ERR_TOKEN_REVOKED",
    );
    // A subject revocation cuts off tokens issued before it, not other subjects.
    expect(
      (await get({ Authorization: `Bearer ${await sign(claims({ org_id: orgId, sub: colleague }))}` })).status,
    ).toBe(200);
  });

  it("403 with a decision id when the policy denies (no scope)", async () => {
    const response = await get({ Authorization: `Bearer ${await sign(claims({ scope: "profile" }))}` });
    expect(response.status).toBe(403);
    const body = (await response.json()) as { error: string; decision_id: string; error_description: string };
    expect(body.error).toBe("access_denied");
    expect(body.error_description).toBe("explicit_deny");
    expect(body.decision_id).toMatch(/^[0-9a-f-]{36}$/);
    await expect
      .poll(() => env.AUDIT_DB.prepare("SELECT outcome FROM audit_event WHERE id = ?").bind(body.decision_id).first())
      .toEqual({ outcome: "deny" });
  });

  it("405 for a method the route does not serve, 404 for unknown paths", async () => {
    const post = await exports.default.fetch(new Request(URL_DOCS, { method: "POST", body: "x" }));
    expect(post.status).toBe(405);
    expect(post.headers.get("Allow")).toBe("GET, HEAD");
    const missing = await exports.default.fetch(new Request("http://localhost:8787/nope"));
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: string }).error).toBe("not_found");
  });

  it("405 for anything but a read of what the gateway answers itself: its health, keys and metadata", async () => {
    for (const path of [ENDPOINT.health, ENDPOINT.gatewayJwks, ENDPOINT.protectedResourceMetadata]) {
      const response = await exports.default.fetch(new Request(`http://localhost:8787${path}`, { method: "POST" }));
      expect(response.status, path).toBe(405);
      expect(response.headers.get("Allow"), path).toBe("GET, HEAD");
      expect(((await response.json()) as { error: string }).error, path).toBe("method_not_allowed");
    }
  });
});

describe("demo service behind the gateway", () => {
  it("fails closed when reached without the gateway's headers or with a malformed filter", async () => {
    const cases: Record<string, string>[] = [
      {},
      { "X-User-ID": "u", "X-Org-ID": "o", "X-ABAC-Filter": '{"org_id":{"$ne":"x"}}' },
    ];
    for (const headers of cases) {
      const response = await env.DEMO.fetch("http://demo.internal/api/documents", { headers });
      expect(response.status).toBe(403);
      expect(((await response.json()) as { error: string }).error).toBe("missing_gateway_headers");
    }
  });
});
