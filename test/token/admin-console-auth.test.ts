// The admin API for the operator console (the ConsoleAdmin RPC entrypoint,
// shared/contracts/console-admin.ts): a Better Auth session stands for the
// caller; platform operators reach every org, org owners and admins theirs
// only (deny by default outside /orgs/{org}/), members and strangers nothing.
// Every call is audited like a bearer call, naming the person and session.
import { env, exports } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { CONSOLE_CLIENT_ID } from "../../shared/contracts/console-admin.ts";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { secondFactorMarkIdentifier } from "../../shared/contracts/second-factor.ts";
import { verification } from "../../shared/db/auth-schema.ts";
import { platformOperator } from "../../shared/db/machine-schema.ts";
import { expectHttpError } from "./admin-fixtures.ts";
import { createTestOrg } from "./clients-fixtures.ts";
import { seedSession } from "./fixtures.ts";

const consoleAdmin = exports.ConsoleAdmin;

function call(sessionToken: string, method: string, path: string, body?: unknown): Promise<Response> {
  return consoleAdmin.fetchAs(
    sessionToken,
    new Request(`http://localhost${ENDPOINT.admin}${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) }),
    }),
  );
}

describe("admin API over the console's session", () => {
  it("an org owner or admin manages its own org, and only it", async () => {
    const owner = await seedSession({ role: "owner" });
    const other = await createTestOrg();
    const listed = (await (await call(owner.token, "GET", "/orgs")).json()) as { orgs: { id: string }[] };
    expect(listed.orgs.map((o) => o.id)).toEqual([owner.orgId]);

    const created = await call(owner.token, "POST", `/orgs/${owner.orgId}/clients`, {
      client_name: "ci",
      client_type: "machine",
      scope: "documents:read",
      audiences: [env.ALLOWED_AUDIENCES.split(" ")[0]],
    });
    expect(created.status).toBe(201);
    expect(((await created.json()) as { client_secret: string }).client_secret).toBeTypeOf("string");

    await expectHttpError(await call(owner.token, "GET", `/orgs/${other}/clients`), 403, "forbidden");
    // An org segment that is not percent-encoded UTF-8 names no org of theirs either (not a 500).
    await expectHttpError(await call(owner.token, "GET", "/orgs/%E0%A4%A/clients"), 403, "forbidden");
    // Platform-wide routes stay the platform's.
    await expectHttpError(await call(owner.token, "POST", "/orgs", { name: "Mine" }), 403, "forbidden");
    await expectHttpError(await call(owner.token, "GET", "/keys"), 403, "forbidden");
    // The audit trail: its own org's chain, never another's or the platform's.
    expect((await call(owner.token, "GET", `/audit/verify?org=${owner.orgId}`)).status).toBe(200);
    await expectHttpError(await call(owner.token, "GET", `/audit/verify?org=${other}`), 403, "forbidden");
    await expectHttpError(await call(owner.token, "GET", "/audit/events"), 403, "forbidden");

    const admin = await seedSession({ role: "member,admin" });
    expect((await call(admin.token, "GET", `/orgs/${admin.orgId}/clients`)).status).toBe(200);
  });

  it("an admin of more orgs than D1 binds in one statement lists every one of them", async () => {
    // D1 refuses a statement with more than 100 bound values; the list is one JSON parameter.
    const owner = await seedSession({ role: "owner" });
    const now = Date.now();
    const more = Array.from({ length: 120 }, (_, i) => `org-many-${crypto.randomUUID()}-${i}`);
    await env.DB.batch(
      more.flatMap((orgId) => [
        env.DB.prepare("INSERT INTO organization (id, name, slug, created_at) VALUES (?, ?, ?, ?)").bind(
          orgId,
          "Org",
          orgId,
          now,
        ),
        env.DB.prepare(
          "INSERT INTO member (id, organization_id, user_id, role, created_at) VALUES (?, ?, ?, 'admin', ?)",
        ).bind(`m-${orgId}`, orgId, owner.userId, now),
      ]),
    );
    const listed = await call(owner.token, "GET", "/orgs");
    expect(listed.status).toBe(200);
    const ids = ((await listed.json()) as { orgs: { id: string }[] }).orgs.map((o) => o.id);
    expect(ids.sort()).toEqual([owner.orgId, ...more].sort());
  });

  it("a platform operator's session reaches every org and the platform routes", async () => {
    const person = await seedSession({ role: "member" });
    await drizzle(env.DB)
      .insert(platformOperator)
      .values({ userId: person.userId, email: `${person.userId}@example.com`, createdAt: new Date() });
    const other = await createTestOrg();
    expect((await call(person.token, "GET", `/orgs/${other}/clients`)).status).toBe(200);
    expect((await call(person.token, "GET", "/keys")).status).toBe(200);
    const orgs = (await (await call(person.token, "GET", "/orgs")).json()) as { orgs: { id: string }[] };
    expect(orgs.orgs.map((o) => o.id)).toEqual(expect.arrayContaining([person.orgId, other]));
  });

  it("401 unauthorized without a live session; 403 forbidden for a plain member", async () => {
    await expectHttpError(await call("no-such-session", "GET", "/orgs"), 401, "unauthorized");
    const expired = await seedSession({ role: "owner", expiresInMs: -1000 });
    await expectHttpError(await call(expired.token, "GET", "/orgs"), 401, "unauthorized");
    const plain = await seedSession({ role: "member" });
    await expectHttpError(await call(plain.token, "GET", `/orgs/${plain.orgId}/clients`), 403, "forbidden");
  });

  it("403 forbidden for a session of a person with 2FA on that has not passed it; the stepped-up session reaches its org", async () => {
    // A social or SSO sign-in, or a session from before 2FA was turned on: no mark (docs/authn.md).
    const admin = await seedSession({ role: "admin" });
    await env.DB.prepare("UPDATE user SET two_factor_enabled = 1 WHERE id = ?").bind(admin.userId).run();
    const refused = await expectHttpError(
      await call(admin.token, "GET", `/orgs/${admin.orgId}/clients`),
      403,
      "forbidden",
    );
    expect(refused.error_description).toMatch(/^SECOND_FACTOR_REQUIRED: /);
    await expectHttpError(await call(admin.token, "GET", "/me"), 403, "forbidden");
    // A mark that is another person's, or expired, is none.
    const mark = (value: string, expiresAt: Date) =>
      drizzle(env.DB)
        .insert(verification)
        .values({
          id: crypto.randomUUID(),
          identifier: secondFactorMarkIdentifier(admin.sessionId),
          value,
          expiresAt,
        });
    await mark("someone-else", new Date(Date.now() + 60_000));
    await mark(admin.userId, new Date(Date.now() - 1000));
    await expectHttpError(await call(admin.token, "GET", `/orgs/${admin.orgId}/clients`), 403, "forbidden");
    // The session steps up at /two-factor (workers/authn/src/two-factor/second-factor.ts writes this mark).
    await mark(admin.userId, new Date(Date.now() + 60_000));
    expect((await call(admin.token, "GET", `/orgs/${admin.orgId}/clients`)).status).toBe(200);
  });

  it("audits a console call with the person, the session and the console's client id", async () => {
    const owner = await seedSession({ role: "owner" });
    expect((await call(owner.token, "GET", `/orgs/${owner.orgId}/clients`)).status).toBe(200);
    await expect
      .poll(async () => {
        const row = await env.AUDIT_DB.prepare(
          "SELECT subject, client_id, detail FROM audit_event WHERE kind = 'admin.action' AND subject = ?",
        )
          .bind(owner.userId)
          .first<{ subject: string; client_id: string; detail: string }>();
        return row && { client_id: row.client_id, detail: JSON.parse(row.detail) };
      })
      .toMatchObject({
        client_id: CONSOLE_CLIENT_ID,
        detail: { action: "client.list", via: "console", operator_session: owner.sessionId, org_id: owner.orgId },
      });
  });
});
