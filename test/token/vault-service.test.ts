import { env, exports } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { SavedTokenRequest } from "../../shared/contracts/vault.ts";
import { tokenPlace } from "../../workers/token/src/vault/connections.ts";
import { VaultError } from "../../workers/token/src/vault/errors.ts";
import { openField } from "../../workers/token/src/vault/sealed-field.ts";
import { orgDataKey } from "../../workers/token/src/vault/vault-key.ts";
import { registerTestClient } from "./clients-fixtures.ts";
import { seedSession } from "./fixtures.ts";
import {
  bindAgent,
  connectAsUser,
  connectionRow,
  connectOrgAsAdmin,
  createProvider,
  routeUpstream,
  seedMemberSession,
  UPSTREAM,
  upstream,
  upstreamActive,
  upstreamRequests,
} from "./vault-fixtures.ts";

const vault = exports.VaultService;

beforeEach(() => routeUpstream());
afterEach(() => vi.restoreAllMocks());

function ask(request: Partial<SavedTokenRequest> & Pick<SavedTokenRequest, "orgId" | "subject" | "agentClientId">) {
  return vault.savedToken({ resource: "demo-echo", decisionId: crypto.randomUUID(), ...request });
}

/** A person with a saved connection to the demo resource, and an agent of their org. */
async function connected(atProvider: Record<string, string> = {}) {
  const s = await seedSession();
  const provider = await createProvider(s.orgId);
  const connection = await connectAsUser(s, provider.name, atProvider);
  const agent = await registerTestClient({ orgId: s.orgId, kind: "agent" });
  return { s, provider, connection, agent };
}

function bearer(authorization: string): string {
  expect(authorization).toMatch(/^Bearer up-at-/);
  return authorization.slice("Bearer ".length);
}

describe("VaultService.savedToken (the gateway's RPC): who may use which connection", () => {
  it("gives a bound agent the person's saved token, and nothing to an unbound one (default deny)", async () => {
    const { s, connection, agent } = await connected();
    const request = { orgId: s.orgId, subject: s.userId, agentClientId: agent.clientId };
    expect(await ask(request)).toEqual({
      ok: false,
      refusal: "saved_connection_not_permitted",
      connectionId: connection.id,
    });
    await bindAgent(s.orgId, connection.id, agent.clientId);
    const result = await ask(request);
    if (!result.ok) throw new Error(result.refusal);
    expect(result.connectionId).toBe(connection.id);
    expect(await upstreamActive(bearer(result.authorization))).toBe(true);
    // Another resource, or another org: nothing.
    expect(await ask({ ...request, resource: "other" })).toEqual({ ok: false, refusal: "no_saved_connection" });
    const stranger = await seedSession();
    expect(await ask({ ...request, orgId: stranger.orgId })).toEqual({ ok: false, refusal: "no_saved_connection" });
  });

  it("uses a person's own connection before the org's, and never another person's", async () => {
    const { s, provider, connection, agent } = await connected();
    await bindAgent(s.orgId, connection.id, agent.clientId);
    const colleague = await seedMemberSession(s.orgId);
    // Only the person's connection exists: the colleague gets nothing from it.
    expect(await ask({ orgId: s.orgId, subject: colleague.userId, agentClientId: agent.clientId })).toEqual({
      ok: false,
      refusal: "no_saved_connection",
    });
    const orgConnection = await connectOrgAsAdmin(await seedMemberSession(s.orgId, "admin"), s.orgId, provider.id);
    await bindAgent(s.orgId, orgConnection.id, agent.clientId);
    const mine = await ask({ orgId: s.orgId, subject: s.userId, agentClientId: agent.clientId });
    expect(mine).toMatchObject({ ok: true, connectionId: connection.id });
    const theirs = await ask({ orgId: s.orgId, subject: colleague.userId, agentClientId: agent.clientId });
    expect(theirs).toMatchObject({ ok: true, connectionId: orgConnection.id });
  });

  it("audits every use and refusal with ids only, never a token", async () => {
    const { s, connection, agent } = await connected();
    const decisionId = crypto.randomUUID();
    await ask({ orgId: s.orgId, subject: s.userId, agentClientId: agent.clientId, decisionId });
    await bindAgent(s.orgId, connection.id, agent.clientId);
    const used = await ask({ orgId: s.orgId, subject: s.userId, agentClientId: agent.clientId, decisionId });
    if (!used.ok) throw new Error(used.refusal);
    const rows = await vi.waitUntil(
      async () => {
        const { results } = await env.AUDIT_DB.prepare(
          "SELECT kind, outcome, subject, client_id, detail FROM audit_event WHERE org_id = ? AND kind LIKE 'vault.token_%' ORDER BY occurred_at",
        )
          .bind(s.orgId)
          .all<{ kind: string; outcome: string; subject: string; client_id: string; detail: string }>();
        return results.length >= 2 ? results : undefined;
      },
      { timeout: 10_000, interval: 100 },
    );
    expect(rows.map((r) => [r.kind, r.outcome])).toEqual([
      ["vault.token_refused", "refused"],
      ["vault.token_used", "issued"],
    ]);
    expect(rows[0]?.subject).toBe(s.userId);
    expect(rows[1]?.client_id).toBe(agent.clientId);
    expect(JSON.parse(rows[0]?.detail ?? "{}")).toMatchObject({
      error: "saved_connection_not_permitted",
      decision_id: decisionId,
    });
    expect(JSON.parse(rows[1]?.detail ?? "{}")).toMatchObject({
      connection_id: connection.id,
      resource: "demo-echo",
      refreshed: false,
    });
    expect(JSON.stringify(rows)).not.toContain(used.authorization.slice("Bearer ".length));
    expect(JSON.stringify(rows)).not.toMatch(/up-at-|up-rt-/);
  });
});

describe("refresh: handled by us before expiry", () => {
  it("refreshes a token about to expire, rotating the refresh token, and saves the new one sealed", async () => {
    const { s, provider, connection, agent } = await connected();
    await bindAgent(s.orgId, connection.id, agent.clientId);
    // Saved an hour ago, 30 s left: inside VAULT_REFRESH_MARGIN_SECONDS.
    await env.DB.prepare("UPDATE vault_connection SET updated_at = ?, expires_at = ? WHERE id = ?")
      .bind(Date.now() - 3_600_000, Date.now() + 30_000, connection.id)
      .run();
    const before = await connectionRow(connection.id);
    const key = await orgDataKey(env.DB, env.VAULT_KEY, s.orgId);
    const oldAccess = await openField(key, tokenPlace(before, "access_token"), before.accessTokenSealed);
    const result = await ask({ orgId: s.orgId, subject: s.userId, agentClientId: agent.clientId });
    if (!result.ok) throw new Error(result.refusal);
    const fresh = bearer(result.authorization);
    expect(fresh).not.toBe(oldAccess);
    expect(await upstreamActive(fresh)).toBe(true);
    expect((await upstreamRequests(provider.name)).at(-1)).toEqual({
      grant_type: "refresh_token",
      client_auth: "client_secret_basic",
      code_verifier: false,
    });
    const after = await connectionRow(connection.id);
    expect(after.updatedAt.getTime()).toBeGreaterThan(before.updatedAt.getTime());
    expect(after.refreshTokenSealed).not.toBe(before.refreshTokenSealed);
    expect(JSON.stringify(after)).not.toContain(fresh);
  });

  it("does not refresh a short-lived token before half its lifetime has passed", async () => {
    const { s, provider, connection, agent } = await connected({ expires_in: "30" });
    await bindAgent(s.orgId, connection.id, agent.clientId);
    const before = await connectionRow(connection.id);
    const result = await ask({ orgId: s.orgId, subject: s.userId, agentClientId: agent.clientId });
    expect(result.ok).toBe(true);
    expect((await connectionRow(connection.id)).updatedAt).toEqual(before.updatedAt);
    expect((await upstreamRequests(provider.name)).at(-1)?.grant_type).toBe("authorization_code");
  });

  it("refreshes on the gateway's word that the upstream refused the token (forceRefresh)", async () => {
    const { s, connection, agent } = await connected();
    await bindAgent(s.orgId, connection.id, agent.clientId);
    const request = { orgId: s.orgId, subject: s.userId, agentClientId: agent.clientId };
    const first = await ask(request);
    const second = await ask({ ...request, forceRefresh: true });
    if (!first.ok || !second.ok) throw new Error("refused");
    expect(second.authorization).not.toBe(first.authorization);
  });

  it("an expired token whose refresh fails is refused saved_connection_expired (the owner must reconnect)", async () => {
    const { s, connection, agent } = await connected({ expires_in: "30" });
    await bindAgent(s.orgId, connection.id, agent.clientId);
    const row = await connectionRow(connection.id);
    const key = await orgDataKey(env.DB, env.VAULT_KEY, s.orgId);
    // The provider revokes the refresh token (here: it is spent by a refresh we do not see).
    const refreshToken = await openField(key, tokenPlace(row, "refresh_token"), row.refreshTokenSealed ?? "");
    const spent = await upstream().fetch(`${UPSTREAM}/token`, {
      method: "POST",
      headers: { Authorization: `Basic ${btoa("vault-test-client:vault-test-secret")}` },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken }),
    });
    expect(spent.status).toBe(200);
    await env.DB.prepare("UPDATE vault_connection SET expires_at = ? WHERE id = ?")
      .bind(Date.now() - 1000, connection.id)
      .run();
    expect(await ask({ orgId: s.orgId, subject: s.userId, agentClientId: agent.clientId })).toEqual({
      ok: false,
      refusal: "saved_connection_expired",
      connectionId: connection.id,
    });
  });
});

describe("encryption at rest", () => {
  it("keeps no plaintext token in D1; the row's ciphertexts open only under the org's key and their own place", async () => {
    const { s, connection, agent } = await connected();
    await bindAgent(s.orgId, connection.id, agent.clientId);
    const result = await ask({ orgId: s.orgId, subject: s.userId, agentClientId: agent.clientId });
    if (!result.ok) throw new Error(result.refusal);
    const access = bearer(result.authorization);
    const row = await env.DB.prepare("SELECT * FROM vault_connection WHERE id = ?").bind(connection.id).first();
    const dump = JSON.stringify(row);
    expect(dump).not.toContain(access);
    expect(dump).not.toMatch(/up-at-|up-rt-/);
    const stored = await connectionRow(connection.id);
    const key = await orgDataKey(env.DB, env.VAULT_KEY, s.orgId);
    expect(await openField(key, tokenPlace(stored, "access_token"), stored.accessTokenSealed)).toBe(access);

    // Another org's key: ERR_VAULT_DECRYPT.
    const otherOrg = (await seedSession()).orgId;
    const otherKey = await orgDataKey(env.DB, env.VAULT_KEY, otherOrg);
    await expect(
      openField(otherKey, tokenPlace(stored, "access_token"), stored.accessTokenSealed),
    ).rejects.toMatchObject({
      code: "ERR_VAULT_DECRYPT",
    });
    // The access token's ciphertext read as the refresh token's column: ERR_VAULT_DECRYPT.
    await expect(openField(key, tokenPlace(stored, "refresh_token"), stored.accessTokenSealed)).rejects.toBeInstanceOf(
      VaultError,
    );
  });

  it("a ciphertext moved to another connection's row does not decrypt: the gateway gets vault_unavailable", async () => {
    const a = await connected();
    const b = await connected();
    await bindAgent(b.s.orgId, b.connection.id, b.agent.clientId);
    // Within one org as well as across orgs: copy a's sealed token onto b's row.
    const second = await createProvider(a.s.orgId);
    const sameOrg = await connectAsUser(a.s, second.name);
    const source = await connectionRow(a.connection.id);
    await env.DB.prepare("UPDATE vault_connection SET access_token_sealed = ? WHERE id IN (?, ?)")
      .bind(source.accessTokenSealed, b.connection.id, sameOrg.id)
      .run();
    expect(await ask({ orgId: b.s.orgId, subject: b.s.userId, agentClientId: b.agent.clientId })).toEqual({
      ok: false,
      refusal: "vault_unavailable",
      connectionId: b.connection.id,
    });
    const moved = await connectionRow(sameOrg.id);
    const key = await orgDataKey(env.DB, env.VAULT_KEY, a.s.orgId);
    await expect(openField(key, tokenPlace(moved, "access_token"), moved.accessTokenSealed)).rejects.toMatchObject({
      code: "ERR_VAULT_DECRYPT",
    });
  });

  it("an org's data key unwraps only under VAULT_KEY and for its own org: ERR_VAULT_KEY_UNWRAP", async () => {
    const { s } = await connected();
    await expect(orgDataKey(env.DB, "another-vault-key-0123456789abcdef0123456789", s.orgId)).rejects.toMatchObject({
      code: "ERR_VAULT_KEY_UNWRAP",
    });
    // The wrapped key copied onto a new org's row.
    const victim = (await seedSession()).orgId;
    const { wrapped_key } = (await env.DB.prepare("SELECT wrapped_key FROM vault_org_key WHERE org_id = ?")
      .bind(s.orgId)
      .first<{ wrapped_key: string }>()) ?? { wrapped_key: "" };
    await env.DB.prepare("INSERT INTO vault_org_key (org_id, wrapped_key, created_at) VALUES (?, ?, ?)")
      .bind(victim, wrapped_key, Date.now())
      .run();
    await expect(orgDataKey(env.DB, env.VAULT_KEY, victim)).rejects.toMatchObject({ code: "ERR_VAULT_KEY_UNWRAP" });
  });
});
