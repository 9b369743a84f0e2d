// POST /app/token (the server-side session exchange) and the raw session
// token kept out of every answer a page script can read.
import { env, exports } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { FIRST_PARTY_CLIENT_ID } from "../../shared/contracts/tokens.ts";
import { api, exchange, form, get, ORIGIN, PASSWORD, signUp, uniqueEmail } from "./helpers.ts";

interface ErrorBody {
  error: string;
  error_description: string;
}

describe("POST /app/token", () => {
  it("exchanges the cookie's session for an access token, never cached", async () => {
    const person = await signUp();
    const response = await exchange(person.cookie);
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const body = (await response.json()) as { access_token: string; token_type: string; scope: string };
    expect(body.token_type).toBe("Bearer");
    expect(body.scope).toBe("documents:read");
    expect(decodeJwt(body.access_token)).toMatchObject({
      sub: person.userId,
      org_id: person.orgId,
      sid: person.sessionId,
      aud: env.API_AUDIENCE,
      client_id: FIRST_PARTY_CLIENT_ID,
    });
    // Bound before it was signed (workers/authn/src/revocation/session-revocation.ts).
    const bound = await env.DB.prepare("SELECT org_id FROM session_org WHERE session_id = ?")
      .bind(person.sessionId)
      .all<{ org_id: string }>();
    expect(bound.results).toEqual([{ org_id: person.orgId }]);
  });

  it("refuses a cross-origin or Origin-less call with 403 cross_origin_post", async () => {
    const person = await signUp();
    const cases: Record<string, string>[] = [{ Origin: "https://evil.example" }, { Origin: "null" }, {}];
    for (const headers of cases) {
      const response = await exchange(person.cookie, undefined, headers);
      expect(response.status).toBe(403);
      expect(((await response.json()) as ErrorBody).error).toBe("cross_origin_post");
    }
  });

  it("refuses a call without a live session with 400 invalid_grant", async () => {
    for (const cookie of ["", "mono.session_token=forged.signature"]) {
      const response = await exchange(cookie);
      expect(response.status).toBe(400);
      expect(response.headers.get("Cache-Control")).toBe("no-store");
      expect(await response.json()).toEqual({ error: "invalid_grant", error_description: "no live session" });
    }
  });

  it("refuses a signed-out session's cookie with 400 invalid_grant", async () => {
    const person = await signUp();
    expect((await form("/sign-out", {}, { Origin: ORIGIN, Cookie: person.cookie })).status).toBe(303);
    const response = await exchange(person.cookie);
    expect(response.status).toBe(400);
    expect(((await response.json()) as ErrorBody).error).toBe("invalid_grant");
  });

  it("refuses a malformed body with 400 invalid_request", async () => {
    const person = await signUp();
    const noAudience = await exchange(person.cookie, { scope: "documents:read" });
    expect(noAudience.status).toBe(400);
    expect(await noAudience.json()).toEqual({ error: "invalid_request", error_description: "audience is required" });

    const repeated = await exports.default.fetch(
      new Request(`${ORIGIN}/app/token`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: person.cookie, Origin: ORIGIN },
        body: `audience=${encodeURIComponent(env.API_AUDIENCE)}&audience=x`,
      }),
    );
    expect(repeated.status).toBe(400);
    expect(await repeated.json()).toEqual({ error: "invalid_request", error_description: "audience is repeated" });

    const json = await exports.default.fetch(
      new Request(`${ORIGIN}/app/token`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Cookie: person.cookie, Origin: ORIGIN },
        body: JSON.stringify({ audience: env.API_AUDIENCE }),
      }),
    );
    expect(json.status).toBe(400);
    expect(((await json.json()) as ErrorBody).error).toBe("invalid_request");
  });

  it("passes the token Worker's refusal through unchanged", async () => {
    const person = await signUp();
    const audience = await exchange(person.cookie, { audience: "https://elsewhere.example/api" });
    expect(audience.status).toBe(400);
    expect(((await audience.json()) as ErrorBody).error).toBe("invalid_target");
    const scope = await exchange(person.cookie, { audience: env.API_AUDIENCE, scope: "admin:everything" });
    expect(scope.status).toBe(400);
    expect(((await scope.json()) as ErrorBody).error).toBe("invalid_scope");
  });

  it("answers GET with 405 and Allow: POST: it only exchanges on a POST", async () => {
    const person = await signUp();
    const response = await get("/app/token", { Cookie: person.cookie });
    expect(response.status).toBe(405);
    expect(response.headers.get("Allow")).toBe("POST");
    expect(((await response.json()) as ErrorBody).error).toBe("method_not_allowed");
  });
});

/** Every string anywhere in a JSON value, to look for a token in any field. */
function strings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === "object") return Object.values(value).flatMap(strings);
  return [];
}

async function sessionToken(sessionId: string): Promise<string> {
  const row = await env.DB.prepare("SELECT token FROM session WHERE id = ?").bind(sessionId).first<{ token: string }>();
  return row!.token;
}

describe("Better Auth's answers carry no raw session token", () => {
  it("sign-up and sign-in: no `token`, the cookie still set", async () => {
    const email = uniqueEmail();
    const signUp = await api("/sign-up/email", { name: "No Token", email, password: PASSWORD });
    expect(signUp.status).toBe(200);
    expect(signUp.headers.getSetCookie().some((c) => c.startsWith("mono.session_token="))).toBe(true);
    const signUpBody = (await signUp.json()) as Record<string, unknown>;
    expect(signUpBody).not.toHaveProperty("token");
    expect(signUpBody).toHaveProperty("user");

    const signIn = await api("/sign-in/email", { email, password: PASSWORD });
    expect(signIn.status).toBe(200);
    expect(signIn.headers.getSetCookie().some((c) => c.startsWith("mono.session_token="))).toBe(true);
    const signInBody = (await signIn.json()) as Record<string, unknown>;
    expect(signInBody).not.toHaveProperty("token");
    expect(signInBody).toHaveProperty("user");
  });

  it("get-session, list-sessions, update-session: no session token anywhere", async () => {
    const person = await signUp();
    const token = await sessionToken(person.sessionId);

    const session = await get("/api/auth/get-session", { Cookie: person.cookie });
    expect(session.status).toBe(200);
    const sessionBody = (await session.json()) as { session: Record<string, unknown> };
    expect(sessionBody.session.id).toBe(person.sessionId);
    expect(sessionBody.session).not.toHaveProperty("token");
    expect(strings(sessionBody)).not.toContain(token);

    const list = await get("/api/auth/list-sessions", { Cookie: person.cookie });
    expect(list.status).toBe(200);
    const listBody = (await list.json()) as Record<string, unknown>[];
    expect(listBody.map((s) => s.id)).toContain(person.sessionId);
    for (const item of listBody) expect(item).not.toHaveProperty("token");
    expect(strings(listBody)).not.toContain(token);

    // No session field is writable in this configuration, so update-session
    // refuses; its answer is rewritten all the same (it would carry `session.token`).
    const update = await api("/update-session", {}, { Cookie: person.cookie });
    expect(update.status).toBe(400);
    expect(strings(await update.json())).not.toContain(token);
  });

  it("change-password with revokeOtherSessions: the new session's token is not in the answer", async () => {
    const person = await signUp();
    const response = await api(
      "/change-password",
      { currentPassword: PASSWORD, newPassword: `${PASSWORD} v2`, revokeOtherSessions: true },
      { Cookie: person.cookie },
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).not.toHaveProperty("token");
    const { results } = await env.DB.prepare("SELECT token FROM session WHERE user_id = ?")
      .bind(person.userId)
      .all<{ token: string }>();
    expect(results).toHaveLength(1);
    expect(strings(body)).not.toContain(results[0]!.token);
  });
});
