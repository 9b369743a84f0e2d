import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { apiTo, call, envWith, formTo, getFrom, mailTo, tokenFromMail } from "./email-helpers.ts";
import { cookiesFrom, ORIGIN, PASSWORD, revocations, signUp } from "./helpers.ts";

const LOCAL = envWith({});
const DAY_MS = 24 * 60 * 60 * 1000;

function session(cookie: string) {
  return call(LOCAL, new Request(`${ORIGIN}/api/auth/get-session`, { headers: { Cookie: cookie } }));
}

async function sessionRow(id: string) {
  return env.DB.prepare("SELECT created_at, expires_at FROM session WHERE id = ?")
    .bind(id)
    .first<{ created_at: number; expires_at: number }>();
}

describe("sessions", { timeout: 60_000 }, () => {
  it("gets a new session id and token on every sign-in, whatever cookie the browser sends (no fixation)", async () => {
    const person = await signUp("Fixation");
    const first = await formTo(
      LOCAL,
      "/sign-in",
      { email: person.email, password: PASSWORD },
      { Cookie: person.cookie },
    );
    const second = await formTo(
      LOCAL,
      "/sign-in",
      { email: person.email, password: PASSWORD },
      { Cookie: person.cookie },
    );
    const tokens = [person.cookie, cookiesFrom(first), cookiesFrom(second)].map(
      (c) => /session_token=([^;]+)/.exec(c)?.[1],
    );
    expect(new Set(tokens).size).toBe(3);
    const { results } = await env.DB.prepare("SELECT id FROM session WHERE user_id = ?").bind(person.userId).all();
    expect(new Set(results.map((r) => r.id)).size).toBe(3);
  });

  it("ends a session unused for the idle timeout", async () => {
    const person = await signUp("Idle");
    await env.DB.prepare("UPDATE session SET expires_at = ? WHERE id = ?")
      .bind(Date.now() - 1000, person.sessionId)
      .run();
    expect(await (await session(person.cookie)).json()).toBeNull();
  });

  it("never extends a session past its absolute timeout, however busy", async () => {
    const person = await signUp("Busy");
    const absoluteMs = Number(env.SESSION_ABSOLUTE_TIMEOUT_SECONDS) * 1000;
    const idleMs = Number(env.SESSION_IDLE_TIMEOUT_SECONDS) * 1000;
    // Created almost the absolute timeout ago, and due for a refresh.
    const createdAt = Date.now() - absoluteMs + 60_000;
    await env.DB.prepare("UPDATE session SET created_at = ?, expires_at = ? WHERE id = ?")
      .bind(createdAt, Date.now() + idleMs - 2 * DAY_MS, person.sessionId)
      .run();
    expect((await session(person.cookie)).status).toBe(200);
    const row = await sessionRow(person.sessionId);
    expect(row?.expires_at).toBe(createdAt + absoluteMs);
  });

  it("keeps no session cache in a cookie (revocation and a pending second factor hold at once)", async () => {
    const person = await signUp("Cache");
    const response = await session(person.cookie);
    expect(response.headers.getSetCookie().filter((c) => c.includes("session_data"))).toEqual([]);
  });

  it("ends the other sessions on a password change when asked, recording their revocations", async () => {
    const person = await signUp("Changer");
    const other = await formTo(LOCAL, "/sign-in", { email: person.email, password: PASSWORD });
    const changed = await apiTo(
      LOCAL,
      "/change-password",
      { currentPassword: PASSWORD, newPassword: "a different good passphrase", revokeOtherSessions: true },
      { Cookie: cookiesFrom(other) },
    );
    expect(changed.status).toBe(200);
    expect(await (await session(person.cookie)).json()).toBeNull();
    expect(await revocations(person.orgId)).toContainEqual(
      expect.objectContaining({ kind: "session", value: person.sessionId }),
    );
  });
});

describe("email change with re-authentication", { timeout: 60_000 }, () => {
  it("needs a fresh sign-in: an older session is refused SESSION_NOT_FRESH", async () => {
    const person = await signUp("Stale");
    const freshAgeMs = Number(env.SESSION_FRESH_AGE_SECONDS) * 1000;
    await env.DB.prepare("UPDATE session SET created_at = ? WHERE id = ?")
      .bind(Date.now() - freshAgeMs - 1000, person.sessionId)
      .run();
    const response = await apiTo(
      LOCAL,
      "/change-email",
      { newEmail: `new-${person.email}` },
      { Cookie: person.cookie },
    );
    expect(response.status).toBe(403);
    expect(((await response.json()) as { code: string }).code).toBe("SESSION_NOT_FRESH");
  });

  it("asks the current address to approve, then the new one to confirm, before the email changes", async () => {
    const person = await signUp("Mover");
    await env.DB.prepare("UPDATE user SET email_verified = 1 WHERE id = ?").bind(person.userId).run();
    const newEmail = `moved-${person.email}`;
    const asked = await apiTo(LOCAL, "/change-email", { newEmail }, { Cookie: person.cookie });
    expect(asked.status).toBe(200);
    const approval = await tokenFromMail(person.email, "change-email");
    expect((await formTo(LOCAL, "/verify-email", { token: approval })).status).toBe(200);
    // Still the old address until the new one confirms.
    const before = await env.DB.prepare("SELECT email FROM user WHERE id = ?")
      .bind(person.userId)
      .first<{ email: string }>();
    expect(before?.email).toBe(person.email);
    const confirmation = await tokenFromMail(newEmail, "verify-email");
    expect((await formTo(LOCAL, "/verify-email", { token: confirmation })).status).toBe(200);
    const after = await env.DB.prepare("SELECT email FROM user WHERE id = ?")
      .bind(person.userId)
      .first<{ email: string }>();
    expect(after?.email).toBe(newEmail);
    expect((await mailTo(newEmail)).length).toBeGreaterThan(0);
    expect((await getFrom(LOCAL, "/sign-in")).status).toBe(200);
  });

  it("names the new address in the approval mail and on its page, which never reads as a plain confirmation", async () => {
    // Whoever holds a fresh session (a stolen one) can ask; only the current
    // mailbox approves, and it must see what it approves.
    const person = await signUp("Approver");
    await env.DB.prepare("UPDATE user SET email_verified = 1 WHERE id = ?").bind(person.userId).run();
    const newEmail = `taker-${person.email}`;
    expect((await apiTo(LOCAL, "/change-email", { newEmail }, { Cookie: person.cookie })).status).toBe(200);
    const [mail] = (await mailTo(person.email)).filter((m) => m.kind === "change-email");
    expect(mail?.text).toContain(newEmail);
    const approval = await tokenFromMail(person.email, "change-email");
    const page = await getFrom(LOCAL, `/verify-email?token=${encodeURIComponent(approval)}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(newEmail);
    expect(html).toContain("Approve the change");
    expect(html).not.toContain("Confirm my email address");
  });
});

describe("deleting an organization with re-authentication", { timeout: 60_000 }, () => {
  it("needs a fresh sign-in: an older session is refused SESSION_NOT_FRESH and the org stays", async () => {
    // A stolen owner session must not be enough to end a tenant, its members and every token of it.
    const owner = await signUp("Keeper");
    const freshAgeMs = Number(env.SESSION_FRESH_AGE_SECONDS) * 1000;
    await env.DB.prepare("UPDATE session SET created_at = ? WHERE id = ?")
      .bind(Date.now() - freshAgeMs - 1000, owner.sessionId)
      .run();
    const response = await apiTo(
      LOCAL,
      "/organization/delete",
      { organizationId: owner.orgId },
      { Cookie: owner.cookie },
    );
    expect(response.status).toBe(403);
    expect(((await response.json()) as { code: string }).code).toBe("SESSION_NOT_FRESH");
    const org = await env.DB.prepare("SELECT id FROM organization WHERE id = ?").bind(owner.orgId).first();
    expect(org).not.toBeNull();
  });
});
