// An operator client's connect link (docs/vault.md, "Connect links"): the flow
// waits for an org admin's confirmation in the browser, which binds it to that
// person's session; and a flow whose person lost the right to start it before
// the callback saves nothing. Split from vault-connect.test.ts.
import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { platformOperator } from "../../shared/db/machine-schema.ts";
import { claimConnectLink, findConnectLink } from "../../workers/token/src/vault/connect-link.ts";
import { flowFinisherCondition } from "../../workers/token/src/vault/flow-finisher.ts";
import { sessionOwnerCondition } from "../../workers/token/src/vault/session-owner.ts";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { expectOAuthError, seedSession } from "./fixtures.ts";
import {
  atProvider,
  callback,
  confirmLink,
  consoleAdminRequest,
  createProvider,
  operatorConnectLink,
  routeUpstream,
  seedMemberSession,
  startAsUser,
  UPSTREAM,
} from "./vault-fixtures.ts";

beforeEach(() => routeUpstream());
afterEach(() => vi.restoreAllMocks());

/** The audit events of the org's admin calls that did `action`. */
async function adminActions(orgId: string, action: string) {
  const { results } = await env.AUDIT_DB.prepare(
    "SELECT outcome, subject, client_id, detail FROM audit_event WHERE org_id = ? AND kind = 'admin.action'",
  )
    .bind(orgId)
    .all<{ outcome: string; subject: string | null; client_id: string | null; detail: string }>();
  return results.filter((r) => (JSON.parse(r.detail) as { action?: string }).action === action);
}

describe("an operator client's connect link (confirmed in the browser by an admin of the org)", () => {
  it("starts nothing at the provider: an org admin's confirmation binds the flow to their session, and only it finishes", async () => {
    const orgId = (await seedSession()).orgId;
    const admin = await seedMemberSession(orgId, "admin");
    const provider = await createProvider(orgId);
    const link = await operatorConnectLink(orgId, provider.id);
    expect(link).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const flows = () =>
      env.DB.prepare("SELECT count(*) AS n FROM vault_connect_state WHERE org_id = ?")
        .bind(orgId)
        .first<{ n: number }>();
    expect((await flows())?.n).toBe(0);
    const stored = await env.DB.prepare("SELECT * FROM vault_connect_link WHERE org_id = ?").bind(orgId).all();
    expect(stored.results).toHaveLength(1);
    expect(JSON.stringify(stored.results)).not.toContain(link);

    const shown = await consoleAdminRequest(admin, "POST", `/orgs/${orgId}/vault/connect-links/inspect`, { link });
    expect(shown.status).toBe(200);
    expect(await shown.json()).toMatchObject({
      org: { id: orgId, name: "Org" },
      provider: { id: provider.id, name: provider.name, scopes: ["read", "write"] },
      owner: { kind: "org", id: orgId },
      started_by: expect.stringMatching(/^operator:mac_/),
    });

    // The operator client cannot confirm its own link; a plain member and another org's admin may not either.
    await expectHttpError(
      await adminRequest("POST", `/orgs/${orgId}/vault/connect-links/confirm`, {
        token: await adminToken(),
        body: { link },
      }),
      403,
      "forbidden",
    );
    await expectHttpError(await confirmLink(await seedMemberSession(orgId), orgId, link), 403, "forbidden");
    await expectHttpError(await confirmLink(await seedSession({ role: "owner" }), orgId, link), 403, "forbidden");

    // Still unused: the org's admin confirms it, once.
    const confirmed = await confirmLink(admin, orgId, link);
    expect(confirmed.status).toBe(201);
    const { authorization_url } = (await confirmed.json()) as { authorization_url: string };
    expect(new URL(authorization_url).searchParams.get("code_challenge_method")).toBe("S256");
    await expectHttpError(await confirmLink(admin, orgId, link), 400, "invalid_connect_link");

    // Someone else's browser carrying the provider's answer (or none at all) finishes nothing.
    const back = await atProvider(new URL(authorization_url));
    await expectOAuthError(await callback(back, await seedMemberSession(orgId)), 400, "invalid_state");
    const again = await confirmLink(admin, orgId, await operatorConnectLink(orgId, provider.id));
    const unsigned = await atProvider(
      new URL(((await again.json()) as { authorization_url: string }).authorization_url),
    );
    await expectOAuthError(await callback(unsigned), 400, "invalid_state");

    const mine = await confirmLink(admin, orgId, await operatorConnectLink(orgId, provider.id));
    const done = await callback(
      await atProvider(new URL(((await mine.json()) as { authorization_url: string }).authorization_url)),
      admin,
    );
    expect(done.status).toBe(200);
    const { connection } = (await done.json()) as { connection: { owner: unknown; created_by: string } };
    expect(connection.owner).toEqual({ kind: "org", id: orgId });
    expect(connection.created_by).toBe(`session:${admin.sessionId}`);

    // Who confirmed is audited (the person, the operator who asked), never the link's value.
    const audited = await vi.waitUntil(
      async () => {
        const rows = await adminActions(orgId, "vault_connection.confirm");
        return rows.filter((r) => r.outcome === "allow").length >= 3 ? rows : undefined;
      },
      { timeout: 10_000, interval: 100 },
    );
    const allowed = audited.filter((r) => r.outcome === "allow");
    expect(allowed).toHaveLength(3);
    // Refusals inside the org are audited too: the operator client's try, and the spent link.
    expect(audited.filter((r) => r.outcome === "deny").map((r) => JSON.parse(r.detail).error)).toEqual(
      expect.arrayContaining(["forbidden", "invalid_connect_link"]),
    );
    expect(allowed[0]).toMatchObject({ subject: admin.userId, client_id: "mono-auth-console" });
    expect(JSON.parse(allowed[0]?.detail ?? "{}")).toMatchObject({
      provider_id: provider.id,
      owner_kind: "org",
      link_started_by: expect.stringMatching(/^operator:mac_/),
      via: "console",
    });
    const { results: everything } = await env.AUDIT_DB.prepare("SELECT detail FROM audit_event WHERE org_id = ?")
      .bind(orgId)
      .all<{ detail: string }>();
    expect(JSON.stringify(everything)).not.toContain(link);
  });

  it("is spent by exactly one of two confirmations racing for it; the other is 400 invalid_connect_link", async () => {
    const orgId = (await seedSession()).orgId;
    const [first, second] = [await seedMemberSession(orgId, "admin"), await seedMemberSession(orgId, "owner")];
    const provider = await createProvider(orgId);
    for (let round = 0; round < 3; round++) {
      const link = await operatorConnectLink(orgId, provider.id);
      const answers = await Promise.all([confirmLink(first, orgId, link), confirmLink(second, orgId, link)]);
      expect(answers.map((a) => a.status).sort()).toEqual([201, 400]);
      const loser = answers.find((a) => a.status === 400);
      if (loser) await expectHttpError(loser, 400, "invalid_connect_link");
      await answers.find((a) => a.status === 201)?.body?.cancel();
    }
    const started = await env.DB.prepare("SELECT count(*) AS n FROM vault_connect_state WHERE org_id = ?")
      .bind(orgId)
      .first<{ n: number }>();
    expect(started?.n).toBe(3);
  });

  it("answers an unknown, expired or another org's link 400 invalid_connect_link, at inspect and confirm", async () => {
    const orgId = (await seedSession()).orgId;
    const admin = await seedMemberSession(orgId, "admin");
    const provider = await createProvider(orgId);
    const inspect = (link: unknown) =>
      consoleAdminRequest(admin, "POST", `/orgs/${orgId}/vault/connect-links/inspect`, { link });
    for (const link of ["", "not-a-link", "x".repeat(4096)]) {
      await expectHttpError(await inspect(link), 400, "invalid_connect_link");
      await expectHttpError(await confirmLink(admin, orgId, link), 400, "invalid_connect_link");
    }
    await expectHttpError(await inspect(42), 400, "invalid_body");

    const expired = await operatorConnectLink(orgId, provider.id);
    await env.DB.prepare("UPDATE vault_connect_link SET expires_at = ? WHERE org_id = ?")
      .bind(Date.now() - 1000, orgId)
      .run();
    await expectHttpError(await inspect(expired), 400, "invalid_connect_link");
    await expectHttpError(await confirmLink(admin, orgId, expired), 400, "invalid_connect_link");

    const elsewhere = (await seedSession()).orgId;
    const foreign = await operatorConnectLink(elsewhere, (await createProvider(elsewhere)).id);
    await expectHttpError(await confirmLink(admin, orgId, foreign), 400, "invalid_connect_link");
    // Links nobody confirmed are dropped as new ones start.
    await operatorConnectLink(orgId, provider.id);
    const left = await env.DB.prepare("SELECT count(*) AS n FROM vault_connect_link WHERE org_id = ?")
      .bind(orgId)
      .first<{ n: number }>();
    expect(left?.n).toBe(1);
  });

  it("for a person's own connection, is confirmed only by that person: another admin is 403 forbidden, the link kept", async () => {
    const orgId = (await seedSession()).orgId;
    const [owner, other] = [await seedMemberSession(orgId, "admin"), await seedMemberSession(orgId, "admin")];
    const provider = await createProvider(orgId);
    const link = await operatorConnectLink(orgId, provider.id, { owner: owner.userId });
    // Not even shown to another admin: the page would tell them "saved as your own connection".
    const inspect = (s: { token: string }) =>
      consoleAdminRequest(s, "POST", `/orgs/${orgId}/vault/connect-links/inspect`, { link });
    await expectHttpError(await inspect(other), 403, "forbidden");
    await expectHttpError(await confirmLink(other, orgId, link), 403, "forbidden");
    expect((await inspect(owner)).status).toBe(200);
    const confirmed = await confirmLink(owner, orgId, link);
    expect(confirmed.status).toBe(201);
    const { authorization_url } = (await confirmed.json()) as { authorization_url: string };
    const done = await callback(await atProvider(new URL(authorization_url)), owner);
    expect(done.status).toBe(200);
    const { connection } = (await done.json()) as { connection: { owner: unknown; created_by: string } };
    expect(connection).toMatchObject({ owner: { kind: "user", id: owner.userId }, created_by: `user:${owner.userId}` });
  });
});

describe("a confirmation the flow could not survive: refused before the link is spent", () => {
  const spent = async (orgId: string) =>
    (
      await env.DB.prepare("SELECT count(*) AS n FROM vault_connect_state WHERE org_id = ?")
        .bind(orgId)
        .first<{ n: number }>()
    )?.n;

  it("a platform operator's session with no active org is 403 forbidden, the link kept; with one, it goes on and finishes", async () => {
    const orgId = (await seedSession()).orgId;
    const provider = await createProvider(orgId);
    const link = await operatorConnectLink(orgId, provider.id);
    // An operator who belongs to no org's session as its active one: the callback would find no owner.
    const operator = await seedSession({ role: "member", activeOrg: false });
    await drizzle(env.DB)
      .insert(platformOperator)
      .values({ userId: operator.userId, email: `${operator.userId}@example.com`, createdAt: new Date() });
    expect(
      (await consoleAdminRequest(operator, "POST", `/orgs/${orgId}/vault/connect-links/inspect`, { link })).status,
    ).toBe(200);
    const refused = await expectHttpError(await confirmLink(operator, orgId, link), 403, "forbidden");
    expect(refused.error_description).toMatch(/no active organization/);
    expect(await spent(orgId)).toBe(0);
    // Two refusals at once spend nothing either.
    const raced = await Promise.all([confirmLink(operator, orgId, link), confirmLink(operator, orgId, link)]);
    for (const answer of raced) await expectHttpError(answer, 403, "forbidden");
    expect(await spent(orgId)).toBe(0);

    // Active in their own org now (the account page's switch): the same link goes on, and the callback takes it.
    await env.DB.prepare("UPDATE session SET active_organization_id = ? WHERE id = ?")
      .bind(operator.orgId, operator.sessionId)
      .run();
    const confirmed = await confirmLink(operator, orgId, link);
    expect(confirmed.status).toBe(201);
    const { authorization_url } = (await confirmed.json()) as { authorization_url: string };
    const done = await callback(await atProvider(new URL(authorization_url)), operator);
    expect(done.status).toBe(200);
    expect(((await done.json()) as { connection: { owner: unknown } }).connection.owner).toEqual({
      kind: "org",
      id: orgId,
    });
  });

  it("a session whose person left its active org is 403 forbidden, the link kept for an admin", async () => {
    const orgId = (await seedSession()).orgId;
    const admin = await seedMemberSession(orgId, "admin");
    const provider = await createProvider(orgId);
    const link = await operatorConnectLink(orgId, provider.id);
    const gone = await seedSession({ role: "owner" });
    await drizzle(env.DB)
      .insert(platformOperator)
      .values({ userId: gone.userId, email: `${gone.userId}@example.com`, createdAt: new Date() });
    await env.DB.prepare("DELETE FROM member WHERE user_id = ?").bind(gone.userId).run();
    await expectHttpError(await confirmLink(gone, orgId, link), 403, "forbidden");
    expect(await spent(orgId)).toBe(0);
    expect((await confirmLink(admin, orgId, link)).status).toBe(201);
  });

  it("the spending write holds the session and role checks itself: a change after them makes it miss, the link kept", async () => {
    const orgId = (await seedSession()).orgId;
    const admin = await seedMemberSession(orgId, "admin");
    const provider = await createProvider(orgId);
    const link = await operatorConnectLink(orgId, provider.id);
    const row = await findConnectLink(env.DB, orgId, link);
    const still = () =>
      sql`${sessionOwnerCondition(admin.sessionId, new Date())} and ${flowFinisherCondition(row, admin.userId)}`;
    const setRole = (role: string) =>
      env.DB.prepare("UPDATE member SET role = ? WHERE user_id = ?").bind(role, admin.userId).run();

    // Demoted after the route's checks passed, before its write.
    await setRole("member");
    expect(await claimConnectLink(env.DB, orgId, link, still())).toBeUndefined();
    // The session ended meanwhile.
    await setRole("member, admin");
    await env.DB.prepare("UPDATE session SET expires_at = ? WHERE id = ?")
      .bind(Date.now() - 1, admin.sessionId)
      .run();
    expect(await claimConnectLink(env.DB, orgId, link, still())).toBeUndefined();
    // Both as they were checked (a role list with spaces, as Better Auth may store it): spent, once.
    await env.DB.prepare("UPDATE session SET expires_at = ? WHERE id = ?")
      .bind(Date.now() + 3_600_000, admin.sessionId)
      .run();
    expect((await claimConnectLink(env.DB, orgId, link, still()))?.linkHash).toBe(row.linkHash);
    expect(await claimConnectLink(env.DB, orgId, link, still())).toBeUndefined();
  });

  it("a page that allowed another authorization origin than the provider's now is 409 conflict, the link kept", async () => {
    const orgId = (await seedSession()).orgId;
    const admin = await seedMemberSession(orgId, "admin");
    const provider = await createProvider(orgId);
    const link = await operatorConnectLink(orgId, provider.id);
    const shown = new URL(UPSTREAM).origin;
    const confirmAs = (body: Record<string, unknown>) =>
      consoleAdminRequest(admin, "POST", `/orgs/${orgId}/vault/connect-links/confirm`, { link, ...body });

    // The provider's authorization endpoint moved after the page was shown.
    const moved = await adminRequest("PATCH", `/orgs/${orgId}/vault/providers/${provider.id}`, {
      token: await adminToken(),
      body: { authorization_endpoint: "https://moved.vault.test/authorize" },
    });
    expect(moved.status).toBe(200);
    const refused = await expectHttpError(await confirmAs({ authorization_origin: shown }), 409, "conflict");
    expect(refused.error_description).toMatch(/reload the page/);
    // A page that could name no origin in its CSP sends an empty one: its own refusal, no reload fixes it.
    const unsupported = await expectHttpError(
      await confirmAs({ authorization_origin: "" }),
      422,
      "provider_endpoint_unsupported",
    );
    expect(unsupported.error_description).not.toMatch(/reload/);
    await expectHttpError(await confirmAs({ authorization_origin: 42 }), 400, "invalid_body");
    await expectHttpError(await confirmAs({ authorization_origin: shown, extra: 1 }), 400, "invalid_body");
    expect(await spent(orgId)).toBe(0);

    // Reloaded, the page names the new origin: the link goes on there.
    const confirmed = await confirmAs({ authorization_origin: "https://moved.vault.test" });
    expect(confirmed.status).toBe(201);
    const { authorization_url } = (await confirmed.json()) as { authorization_url: string };
    expect(new URL(authorization_url).origin).toBe("https://moved.vault.test");
  });
});

describe("a flow whose person lost the right to start it before the callback", () => {
  const connections = async (orgId: string) =>
    (
      await env.DB.prepare("SELECT count(*) AS n FROM vault_connection WHERE org_id = ?")
        .bind(orgId)
        .first<{ n: number }>()
    )?.n;

  it("saves nothing for an admin demoted between confirming a link and the callback: 403 forbidden", async () => {
    const orgId = (await seedSession()).orgId;
    const admin = await seedMemberSession(orgId, "admin");
    const provider = await createProvider(orgId);
    const confirmed = await confirmLink(admin, orgId, await operatorConnectLink(orgId, provider.id));
    expect(confirmed.status).toBe(201);
    const back = await atProvider(
      new URL(((await confirmed.json()) as { authorization_url: string }).authorization_url),
    );
    await env.DB.prepare("UPDATE member SET role = 'member' WHERE user_id = ? AND organization_id = ?")
      .bind(admin.userId, orgId)
      .run();
    await expectOAuthError(await callback(back, admin), 403, "forbidden");
    expect(await connections(orgId)).toBe(0);
    // The state was spent by the refusal: promoted again, the same answer is a spent state.
    await env.DB.prepare("UPDATE member SET role = 'admin' WHERE user_id = ? AND organization_id = ?")
      .bind(admin.userId, orgId)
      .run();
    await expectOAuthError(await callback(back, admin), 400, "invalid_state");
    expect(await connections(orgId)).toBe(0);
  });

  it("saves nothing for a person removed from the flow's org after starting their own, while active in another", async () => {
    const s = await seedSession();
    const provider = await createProvider(s.orgId);
    const back = await atProvider(await startAsUser(s, provider.name));
    // Active in another org they belong to (the callback's session check passes), gone from this one.
    const elsewhere = await seedSession();
    await env.DB.prepare(
      "INSERT INTO member (id, organization_id, user_id, role, created_at) VALUES (?, ?, ?, 'member', ?)",
    )
      .bind(crypto.randomUUID(), elsewhere.orgId, s.userId, Date.now())
      .run();
    await env.DB.prepare("UPDATE session SET active_organization_id = ? WHERE id = ?")
      .bind(elsewhere.orgId, s.sessionId)
      .run();
    await env.DB.prepare("DELETE FROM member WHERE user_id = ? AND organization_id = ?").bind(s.userId, s.orgId).run();
    await expectOAuthError(await callback(back, s), 403, "forbidden");
    expect(await connections(s.orgId)).toBe(0);
  });
});
