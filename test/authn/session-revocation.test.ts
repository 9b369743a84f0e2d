// Ending a session revokes its tokens in every org it minted for, whatever
// the session's active org is by then, on every path that ends sessions.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getAuth } from "../../workers/authn/src/auth/create-auth.ts";
import { accessToken, api, cookiesFrom, form, get, ORIGIN, PASSWORD, revocations, signUp } from "./helpers.ts";

const REVOCATION_NOT_RECORDED = "REVOCATION_NOT_RECORDED";

/** A second organization for the person, made active (Better Auth's create does that). */
async function createOrg(cookie: string): Promise<string> {
  const response = await api(
    "/organization/create",
    { name: "Second", slug: `second-${crypto.randomUUID().slice(0, 8)}` },
    { Cookie: cookie },
  );
  expect(response.status).toBe(200);
  return ((await response.json()) as { id: string }).id;
}

async function setActive(cookie: string, organizationId: string | null) {
  return api("/organization/set-active", { organizationId }, { Cookie: cookie });
}

function sessionRevoked(sessionId: string) {
  return expect.objectContaining({ kind: "session", value: sessionId });
}

async function sessionOrgRows(sessionId: string) {
  const { results } = await env.DB.prepare("SELECT org_id FROM session_org WHERE session_id = ?")
    .bind(sessionId)
    .all<{ org_id: string }>();
  return results.map((r) => r.org_id).sort();
}

async function sessionExists(sessionId: string) {
  return (await env.DB.prepare("SELECT 1 FROM session WHERE id = ?").bind(sessionId).first()) !== null;
}

/** A second session of the same person, signed in from elsewhere; its cookie and id. */
async function signInAgain(email: string) {
  const response = await form("/sign-in", { email, password: PASSWORD });
  expect(response.status).toBe(303);
  const cookie = cookiesFrom(response);
  const session = (await (await get("/api/auth/get-session", { Cookie: cookie })).json()) as {
    session: { id: string };
  };
  return { cookie, sessionId: session.session.id };
}

describe("sign-out revokes the session in every org it minted for", () => {
  it("after the active org was switched to another org", async () => {
    const person = await signUp();
    await accessToken(person.cookie);
    const orgB = await createOrg(person.cookie);
    expect((await setActive(person.cookie, orgB)).status).toBe(200);
    expect(await sessionOrgRows(person.sessionId)).toEqual([person.orgId]);

    expect((await api("/sign-out", {}, { Cookie: person.cookie })).status).toBe(200);
    expect(await revocations(person.orgId)).toContainEqual(sessionRevoked(person.sessionId));
    expect(await revocations(orgB)).toContainEqual(sessionRevoked(person.sessionId));
    expect(await sessionOrgRows(person.sessionId)).toEqual([]);
  });

  it("after minting in two orgs and unsetting the active org", async () => {
    const person = await signUp();
    await accessToken(person.cookie);
    const orgB = await createOrg(person.cookie);
    await accessToken(person.cookie);
    expect(await sessionOrgRows(person.sessionId)).toEqual([person.orgId, orgB].sort());
    expect((await setActive(person.cookie, null)).status).toBe(200);

    const signOut = await form("/sign-out", {}, { Origin: ORIGIN, Cookie: person.cookie });
    expect(signOut.status).toBe(303);
    expect(await revocations(person.orgId)).toContainEqual(sessionRevoked(person.sessionId));
    expect(await revocations(orgB)).toContainEqual(sessionRevoked(person.sessionId));
    expect(await sessionOrgRows(person.sessionId)).toEqual([]);
  });

  it("after a refused switch to another person's org", async () => {
    const person = await signUp();
    const stranger = await signUp("Stranger");
    await accessToken(person.cookie);
    const refused = await setActive(person.cookie, stranger.orgId);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { code: string }).code).toBe("USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION");

    expect((await api("/sign-out", {}, { Cookie: person.cookie })).status).toBe(200);
    expect(await revocations(person.orgId)).toContainEqual(sessionRevoked(person.sessionId));
    // Nothing is written to the org the person was refused.
    expect(await revocations(stranger.orgId)).not.toContainEqual(sessionRevoked(person.sessionId));
  });
});

describe("every other way a session ends revokes it too", () => {
  it("revoke-session (another of one's sessions)", async () => {
    const person = await signUp();
    const other = await signInAgain(person.email);
    await accessToken(other.cookie);
    const response = await api("/revoke-session", { token: await tokenOf(other.sessionId) }, { Cookie: person.cookie });
    expect(response.status).toBe(200);
    expect(await sessionExists(other.sessionId)).toBe(false);
    expect(await revocations(person.orgId)).toContainEqual(sessionRevoked(other.sessionId));
    expect(await sessionOrgRows(other.sessionId)).toEqual([]);
  });

  it("revoke-sessions (all of them, one bulk delete)", async () => {
    const person = await signUp();
    const other = await signInAgain(person.email);
    await accessToken(person.cookie);
    await accessToken(other.cookie);
    expect((await api("/revoke-sessions", {}, { Cookie: person.cookie })).status).toBe(200);
    for (const sessionId of [person.sessionId, other.sessionId]) {
      expect(await sessionExists(sessionId)).toBe(false);
      expect(await revocations(person.orgId)).toContainEqual(sessionRevoked(sessionId));
      expect(await sessionOrgRows(sessionId)).toEqual([]);
    }
  });

  it("revoke-other-sessions", async () => {
    const person = await signUp();
    const other = await signInAgain(person.email);
    await accessToken(other.cookie);
    expect((await api("/revoke-other-sessions", {}, { Cookie: person.cookie })).status).toBe(200);
    expect(await sessionExists(other.sessionId)).toBe(false);
    expect(await sessionExists(person.sessionId)).toBe(true);
    expect(await revocations(person.orgId)).toContainEqual(sessionRevoked(other.sessionId));
    expect(await revocations(person.orgId)).not.toContainEqual(sessionRevoked(person.sessionId));
  });

  it("a password change that revokes the other sessions", async () => {
    const person = await signUp();
    const other = await signInAgain(person.email);
    await accessToken(other.cookie);
    const response = await api(
      "/change-password",
      { currentPassword: PASSWORD, newPassword: `${PASSWORD} 2`, revokeOtherSessions: true },
      { Cookie: person.cookie },
    );
    expect(response.status).toBe(200);
    for (const sessionId of [person.sessionId, other.sessionId]) {
      expect(await sessionExists(sessionId)).toBe(false);
      expect(await revocations(person.orgId)).toContainEqual(sessionRevoked(sessionId));
    }
  });

  it("deleting the user: every session, and the person in every org", async () => {
    const person = await signUp();
    await accessToken(person.cookie);
    const context = await getAuth(env).$context;
    await context.internalAdapter.deleteUser(person.userId);
    expect(await sessionExists(person.sessionId)).toBe(false);
    expect(await revocations(person.orgId)).toContainEqual(sessionRevoked(person.sessionId));
    expect(await revocations(person.orgId)).toContainEqual(
      expect.objectContaining({ kind: "subject", value: person.userId }),
    );
  });
});

async function tokenOf(sessionId: string): Promise<string> {
  const row = await env.DB.prepare("SELECT token FROM session WHERE id = ?").bind(sessionId).first<{ token: string }>();
  return row!.token;
}

/**
 * A session whose revocation the org's Durable Object refuses: the object
 * takes values of at most 256 characters (workers/org-state/src/revocation-recording.ts),
 * so a session id longer than that cannot be recorded. A real refusal of the
 * real object, not a stand-in.
 */
async function unrevocableSession() {
  const person = await signUp();
  const longId = `${crypto.randomUUID()}${"0".repeat(300)}`;
  await env.DB.prepare("UPDATE session SET id = ? WHERE id = ?").bind(longId, person.sessionId).run();
  return { ...person, sessionId: longId };
}

describe("a session end whose revocation cannot be recorded does not report success", () => {
  it("API sign-out: 503 REVOCATION_NOT_RECORDED, the session and the cookie stay", async () => {
    const person = await unrevocableSession();
    const response = await api("/sign-out", {}, { Cookie: person.cookie });
    expect(response.status).toBe(503);
    expect(((await response.json()) as { code: string }).code).toBe(REVOCATION_NOT_RECORDED);
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(await sessionExists(person.sessionId)).toBe(true);
  });

  it("page sign-out: 503 temporarily_unavailable, no redirect, the cookie stays", async () => {
    const person = await unrevocableSession();
    const response = await form("/sign-out", {}, { Origin: ORIGIN, Cookie: person.cookie });
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: string }).error).toBe("temporarily_unavailable");
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(await sessionExists(person.sessionId)).toBe(true);
  });

  it("revoke-sessions: refused, and the session stays", async () => {
    const person = await unrevocableSession();
    const response = await api("/revoke-sessions", {}, { Cookie: person.cookie });
    expect(response.status).toBe(500);
    expect(((await response.json()) as { code: string }).code).toBe("INTERNAL_SERVER_ERROR");
    expect(await sessionExists(person.sessionId)).toBe(true);
  });
});

describe("a person's live sessions are capped", () => {
  it("signing in at the cap ends (and revokes) the oldest session", async () => {
    const person = await signUp();
    const max = Number(env.MAX_SESSIONS_PER_USER);
    // Fill up to the cap with older sessions, written as Better Auth would.
    const hour = 3_600_000;
    const inserts = Array.from({ length: max - 1 }, (_, i) =>
      env.DB.prepare(
        `INSERT INTO session (id, token, user_id, expires_at, created_at, updated_at, active_organization_id)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ).bind(
        `old-${i}-${crypto.randomUUID()}`,
        crypto.randomUUID(),
        person.userId,
        Date.now() + hour,
        Date.now() - hour * (i + 2),
        Date.now() - hour * (i + 2),
        person.orgId,
      ),
    );
    await env.DB.batch(inserts);
    const oldest = await env.DB.prepare("SELECT id FROM session WHERE user_id = ? ORDER BY created_at ASC LIMIT 1")
      .bind(person.userId)
      .first<{ id: string }>();
    await env.DB.prepare("INSERT INTO session_org (session_id, org_id, created_at) VALUES (?, ?, ?)")
      .bind(oldest!.id, person.orgId, Date.now())
      .run();

    await signInAgain(person.email);
    const count = await env.DB.prepare("SELECT count(*) AS n FROM session WHERE user_id = ?")
      .bind(person.userId)
      .first<{ n: number }>();
    expect(count!.n).toBe(max);
    expect(await sessionExists(oldest!.id)).toBe(false);
    expect(await revocations(person.orgId)).toContainEqual(sessionRevoked(oldest!.id));
  });
});
