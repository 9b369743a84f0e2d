// A banned person starts no session even when their sign-in read the ban
// table just before the ban was written: the session table's trigger
// (migrations/0014_session_refuses_banned_user.sql) refuses the insert, and
// Better Auth's adapter answers that refusal as the session hook answers a
// banned person, 403 USER_BANNED (workers/authn/src/auth/banned-session-insert.ts).
import { env } from "cloudflare:workers";
import { APIError } from "better-auth/api";
import { describe, expect, it } from "vitest";
import { isBanTriggerAbort } from "../../workers/authn/src/auth/banned-session-insert.ts";
import { getAuth } from "../../workers/authn/src/auth/create-auth.ts";
import { signUp } from "./helpers.ts";
import { oidc, refreshGrant } from "./oidc-helpers.ts";

async function ban(userId: string): Promise<void> {
  await env.DB.prepare("INSERT INTO user_ban (user_id, reason, banned_by, banned_at) VALUES (?, 'test', 'test', ?)")
    .bind(userId, Date.now())
    .run();
}

function sessionRow(userId: string) {
  const now = new Date();
  return {
    id: crypto.randomUUID(),
    token: crypto.randomUUID(),
    userId,
    expiresAt: new Date(now.getTime() + 60_000),
    createdAt: now,
    updatedAt: now,
  };
}

describe("a session for a banned person", () => {
  it("is refused by the database itself, and a session of someone not banned is not", async () => {
    const person = await signUp();
    const insert = (row: ReturnType<typeof sessionRow>) =>
      env.DB.prepare(
        "INSERT INTO session (id, token, user_id, expires_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
      )
        .bind(row.id, row.token, row.userId, row.expiresAt.getTime(), row.createdAt.getTime(), row.updatedAt.getTime())
        .run();
    await insert(sessionRow(person.userId));
    await ban(person.userId);
    const refused = await insert(sessionRow(person.userId)).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isBanTriggerAbort(refused)).toBe(true);
    // The sessions that were there stay until the ban's own sweep ends them.
    const left = await env.DB.prepare("SELECT count(*) AS n FROM session WHERE user_id = ?")
      .bind(person.userId)
      .first<{ n: number }>();
    expect(left?.n).toBe(2);
  });

  it("is answered 403 USER_BANNED by Better Auth's adapter, past the session hook", async () => {
    const person = await signUp();
    await ban(person.userId);
    const { adapter } = await getAuth(env).$context;
    // The insert a sign-in makes after its hook read "not banned".
    const refused = await adapter
      .create({ model: "session", data: sessionRow(person.userId), forceAllowId: true })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(refused).toBeInstanceOf(APIError);
    expect((refused as APIError).status).toBe("FORBIDDEN");
    expect((refused as APIError).body?.code).toBe("USER_BANNED");
  });

  it("leaves every other failed insert as it was", async () => {
    const { adapter } = await getAuth(env).$context;
    const orphan = await adapter
      .create({ model: "session", data: sessionRow("no-such-user"), forceAllowId: true })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(orphan).toBeInstanceOf(Error);
    expect(orphan).not.toBeInstanceOf(APIError);
    expect(isBanTriggerAbort(orphan)).toBe(false);
  });
});

describe("a banned person's OAuth client", { timeout: 60_000 }, () => {
  // The ban revokes the person's refresh tokens (the token Worker's
  // admin/person-cutoff.ts); a refresh that raced it, or a directory's
  // deactivation written by hand, still yields nothing: the org claim reads
  // the ban at every issue (workers/authn/src/oidc/org-claim.ts).
  it("gets no token from a refresh token the ban did not reach: invalid_grant", async () => {
    const { person, client, tokens } = await oidc.issuedTokens();
    await ban(person.userId);
    const refused = await refreshGrant(tokens.refresh_token ?? "", client);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: "invalid_grant", error_description: "the person is banned" });
  });
});
