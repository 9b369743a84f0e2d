// An operator's view of a person's sessions and "sign out everywhere"
// without a ban (admin API /users/{id}/sessions and /users/{id}/sign-out,
// platform operators only): the live sessions are listed without their
// tokens; a sign-out records a `subject` revocation in every org the person
// belongs to or minted in, ends their sessions and their OAuth tokens at our
// OpenID Provider before the 200, and never reports success for a
// revocation that did not happen.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { seedSession, seedUser } from "./fixtures.ts";

async function subjectRevocations(orgId: string): Promise<string[]> {
  const snapshot = await env.ORG_STATE.getByName(orgStateName(orgId)).snapshot(orgId);
  return snapshot.entries.filter((e) => e.kind === "subject").map((e) => e.value);
}

async function count(sql: string, ...binds: string[]): Promise<number> {
  return (
    (
      await env.DB.prepare(sql)
        .bind(...binds)
        .first<{ n: number }>()
    )?.n ?? -1
  );
}

const liveRefreshTokens = (userId: string) =>
  count("SELECT count(*) AS n FROM oidc_refresh_token WHERE user_id = ? AND revoked IS NULL", userId);
const accessTokens = (userId: string) => count("SELECT count(*) AS n FROM oidc_access_token WHERE user_id = ?", userId);
const sessionsOf = (userId: string) => count("SELECT count(*) AS n FROM session WHERE user_id = ?", userId);

/** A refresh token and an opaque access token of the person's at our OpenID Provider, as oauth-provider writes them. */
async function oauthGrant(userId: string): Promise<void> {
  const id = crypto.randomUUID();
  const now = Date.now();
  await env.DB.batch([
    env.DB.prepare("INSERT INTO oidc_client (id, client_id, redirect_uris) VALUES (?, ?, '[]')").bind(id, `rp-${id}`),
    env.DB.prepare(
      "INSERT INTO oidc_refresh_token (id, token, client_id, user_id, expires_at, created_at, scopes) VALUES (?, ?, ?, ?, ?, ?, '[\"openid\"]')",
    ).bind(`rt-${id}`, `rt-${id}`, `rp-${id}`, userId, now + 3_600_000, now),
    env.DB.prepare(
      "INSERT INTO oidc_access_token (id, token, client_id, user_id, expires_at, created_at, scopes) VALUES (?, ?, ?, ?, ?, ?, '[\"openid\"]')",
    ).bind(`at-${id}`, `at-${id}`, `rp-${id}`, userId, now + 600_000, now),
  ]);
}

/** A second session of the person's, from another device, that minted in `orgId` (D1 `session_org`). */
async function secondSession(userId: string, mintedIn: string): Promise<string> {
  const id = `s2-${crypto.randomUUID()}`;
  const now = Date.now();
  await env.DB.batch([
    env.DB.prepare(
      "INSERT INTO session (id, token, user_id, expires_at, created_at, updated_at, ip_address, user_agent) VALUES (?, ?, ?, ?, ?, ?, '203.0.113.7', 'Firefox')",
    ).bind(id, `token-${id}`, userId, now + 3_600_000, now + 1, now + 1),
    env.DB.prepare("INSERT INTO session_org (session_id, org_id, created_at) VALUES (?, ?, ?)").bind(id, mintedIn, now),
  ]);
  return id;
}

/**
 * A person whose `subject` revocations the org's Durable Object refuses (a
 * user id longer than it records, 256 characters): the real path to a
 * revocation that cannot be recorded, not a stand-in.
 */
async function unrevocablePerson() {
  const userId = await seedUser(`${crypto.randomUUID()}${"0".repeat(300)}`);
  const { orgId } = await seedSession({ member: false });
  const now = Date.now();
  await env.DB.batch([
    env.DB.prepare(
      "INSERT INTO member (id, organization_id, user_id, role, created_at) VALUES (?, ?, ?, 'member', ?)",
    ).bind(`m-${crypto.randomUUID()}`, orgId, userId, now),
    env.DB.prepare(
      "INSERT INTO session (id, token, user_id, expires_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
    ).bind(`s-${crypto.randomUUID()}`, `t-${crypto.randomUUID()}`, userId, now + 3_600_000, now, now),
  ]);
  return { userId, orgId };
}

/** Makes D1 refuse to delete the person's opaque access tokens; returns the statement that lifts it. */
async function refuseAccessTokenDeletes(userId: string): Promise<() => Promise<unknown>> {
  const trigger = `refuse_${userId.replaceAll(/[^A-Za-z0-9]/g, "_")}`;
  await env.DB.prepare(
    `CREATE TRIGGER ${trigger} BEFORE DELETE ON oidc_access_token WHEN OLD.user_id = '${userId}'
     BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`,
  ).run();
  return () => env.DB.prepare(`DROP TRIGGER ${trigger}`).run();
}

describe("admin API: a person's sessions", () => {
  it("lists the live sessions, oldest first, never a session token", async () => {
    const token = await adminToken();
    const person = await seedSession({ role: "member" });
    const other = await seedSession();
    const second = await secondSession(person.userId, other.orgId);
    // Expired: not live, not listed.
    await env.DB.prepare(
      "INSERT INTO session (id, token, user_id, expires_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
      .bind(`old-${person.userId}`, `old-token-${person.userId}`, person.userId, Date.now() - 1000, 0, 0)
      .run();
    const listed = await adminRequest("GET", `/users/${person.userId}/sessions`, { token });
    expect(listed.status).toBe(200);
    const text = await listed.text();
    expect(text).not.toContain(person.token);
    expect(text).not.toContain(`token-${second}`);
    const { sessions } = JSON.parse(text) as { sessions: Record<string, unknown>[] };
    expect(sessions.map((s) => s.id)).toEqual([person.sessionId, second]);
    expect(Object.keys(sessions[1] ?? {}).sort()).toEqual(
      ["active_organization_id", "created_at", "expires_at", "id", "ip_address", "updated_at", "user_agent"].sort(),
    );
    expect(sessions[1]).toMatchObject({
      ip_address: "203.0.113.7",
      user_agent: "Firefox",
      active_organization_id: null,
    });
    expect(sessions[0]).toMatchObject({ active_organization_id: person.orgId, ip_address: null });
  });

  it("404 for an unknown person; 403 for an org admin's console session", async () => {
    const token = await adminToken();
    await expectHttpError(await adminRequest("GET", "/users/nobody/sessions", { token }), 404, "not_found");
    const person = await seedSession();
    const owner = await seedSession({ role: "owner" });
    const refused = await exports.ConsoleAdmin.fetchAs(
      owner.token,
      new Request(`http://localhost${ENDPOINT.admin}/users/${person.userId}/sessions`),
    );
    await expectHttpError(refused, 403, "forbidden");
  });
});

describe("admin API: signing a person out everywhere", () => {
  it("revokes them in every org they belong to or minted in, ends their sessions and OAuth tokens, keeps no ban", async () => {
    const token = await adminToken();
    const person = await seedSession({ role: "member" });
    const elsewhere = await seedSession();
    await secondSession(person.userId, elsewhere.orgId);
    await oauthGrant(person.userId);
    const signedOut = await adminRequest("POST", `/users/${person.userId}/sign-out`, { token });
    expect(signedOut.status).toBe(200);
    expect(await signedOut.json()).toEqual({
      user_id: person.userId,
      revoked_in_orgs: [person.orgId, elsewhere.orgId].sort(),
      sessions_ended: 2,
    });
    expect(await subjectRevocations(person.orgId)).toContain(person.userId);
    expect(await subjectRevocations(elsewhere.orgId)).toContain(person.userId);
    expect(await sessionsOf(person.userId)).toBe(0);
    expect(await liveRefreshTokens(person.userId)).toBe(0);
    expect(await accessTokens(person.userId)).toBe(0);
    // Not a ban: they may sign in again.
    expect(await count("SELECT count(*) AS n FROM user_ban WHERE user_id = ?", person.userId)).toBe(0);
    const audited = async () =>
      (
        await env.AUDIT_DB.prepare(
          "SELECT detail FROM audit_event WHERE kind = 'admin.action' AND detail LIKE ? AND detail LIKE '%user.sign_out%'",
        )
          .bind(`%${person.userId}%`)
          .all<{ detail: string }>()
      ).results.map((r) => JSON.parse(r.detail) as Record<string, unknown>);
    await expect
      .poll(audited)
      .toEqual([expect.objectContaining({ action: "user.sign_out", user_id: person.userId, sessions_ended: 2 })]);
  });

  it("404 for an unknown person; 403 for an org admin's console session, even for a member of their org", async () => {
    const token = await adminToken();
    await expectHttpError(await adminRequest("POST", "/users/nobody/sign-out", { token }), 404, "not_found");
    const owner = await seedSession({ role: "owner" });
    const refused = await exports.ConsoleAdmin.fetchAs(
      owner.token,
      new Request(`http://localhost${ENDPOINT.admin}/users/${owner.userId}/sign-out`, { method: "POST" }),
    );
    await expectHttpError(refused, 403, "forbidden");
    expect(await sessionsOf(owner.userId)).toBe(1);
  });

  it("503 temporarily_unavailable when a revocation cannot be recorded: the sessions stay", async () => {
    const token = await adminToken();
    const person = await unrevocablePerson();
    await expectHttpError(
      await adminRequest("POST", `/users/${encodeURIComponent(person.userId)}/sign-out`, { token }),
      503,
      "temporarily_unavailable",
    );
    expect(await sessionsOf(person.userId)).toBe(1);
  });

  it("503 temporarily_unavailable when the OAuth tokens cannot be revoked; a retry ends them", async () => {
    const token = await adminToken();
    const person = await seedSession();
    await oauthGrant(person.userId);
    const lift = await refuseAccessTokenDeletes(person.userId);
    try {
      await expectHttpError(
        await adminRequest("POST", `/users/${person.userId}/sign-out`, { token }),
        503,
        "temporarily_unavailable",
      );
    } finally {
      await lift();
    }
    // One batch: nothing of the OAuth tokens was half-revoked.
    expect(await liveRefreshTokens(person.userId)).toBe(1);
    const retried = await adminRequest("POST", `/users/${person.userId}/sign-out`, { token });
    expect(retried.status).toBe(200);
    expect(await liveRefreshTokens(person.userId)).toBe(0);
    expect(await accessTokens(person.userId)).toBe(0);
  });
});

// The ban shares the cut-off (workers/token/src/admin/person-cutoff.ts): a
// banned person's browser OAuth client must not keep refreshing.
describe("POST /admin/v1/users/{id}/ban ends the person's OAuth tokens too", () => {
  it("marks their refresh tokens revoked and deletes their opaque access tokens before the 200", async () => {
    const token = await adminToken();
    const person = await seedSession();
    await oauthGrant(person.userId);
    const banned = await adminRequest("POST", `/users/${person.userId}/ban`, {
      token,
      body: { reason: "stolen laptop" },
    });
    expect(banned.status).toBe(200);
    expect(await liveRefreshTokens(person.userId)).toBe(0);
    expect(await accessTokens(person.userId)).toBe(0);
  });

  it("503 temporarily_unavailable when they cannot be ended; a second ban finishes it", async () => {
    const token = await adminToken();
    const person = await seedSession();
    await oauthGrant(person.userId);
    const lift = await refuseAccessTokenDeletes(person.userId);
    try {
      await expectHttpError(
        await adminRequest("POST", `/users/${person.userId}/ban`, { token, body: {} }),
        503,
        "temporarily_unavailable",
      );
    } finally {
      await lift();
    }
    expect(await liveRefreshTokens(person.userId)).toBe(1);
    expect((await adminRequest("POST", `/users/${person.userId}/ban`, { token, body: {} })).status).toBe(200);
    expect(await liveRefreshTokens(person.userId)).toBe(0);
  });
});
