import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { SavedTokenRequest } from "../../shared/contracts/vault.ts";
import { tokenPlace } from "../../workers/token/src/vault/connections.ts";
import { savedToken } from "../../workers/token/src/vault/saved-token.ts";
import { openField } from "../../workers/token/src/vault/sealed-field.ts";
import { orgDataKey } from "../../workers/token/src/vault/vault-key.ts";
import { registerTestClient } from "./clients-fixtures.ts";
import { seedSession } from "./fixtures.ts";
import {
  bindAgent,
  connectAsUser,
  connectionRow,
  createProvider,
  routeUpstream,
  UPSTREAM,
  UPSTREAM_CLIENT,
  upstream,
  upstreamActive,
} from "./vault-fixtures.ts";

beforeEach(() => routeUpstream());
afterEach(() => vi.restoreAllMocks());

/** The refresh requests that reached the provider's token endpoint. */
function refreshRequests(): number {
  return vi
    .mocked(globalThis.fetch)
    .mock.calls.filter(
      ([input, init]) =>
        String(input instanceof Request ? input.url : input).startsWith(UPSTREAM) &&
        init?.body instanceof URLSearchParams &&
        init.body.get("grant_type") === "refresh_token",
    ).length;
}

/** A bound agent and a person's connection whose token is inside the refresh margin. */
async function dueForRefresh() {
  const s = await seedSession();
  const provider = await createProvider(s.orgId);
  const connection = await connectAsUser(s, provider.name);
  const agent = await registerTestClient({ orgId: s.orgId, kind: "agent" });
  await bindAgent(s.orgId, connection.id, agent.clientId);
  const updatedAt = Date.now() - 3_600_000;
  await env.DB.prepare("UPDATE vault_connection SET updated_at = ?, expires_at = ? WHERE id = ?")
    .bind(updatedAt, Date.now() + 30_000, connection.id)
    .run();
  const request: SavedTokenRequest = {
    orgId: s.orgId,
    subject: s.userId,
    agentClientId: agent.clientId,
    resource: "demo-echo",
    decisionId: crypto.randomUUID(),
  };
  return { connection, request, updatedAt };
}

describe("refresh of a saved token under concurrency (RFC 9700 §4.14.2)", () => {
  it("sends the refresh token once when requests race past the margin; all of them get the new token", async () => {
    const { connection, request } = await dueForRefresh();
    const before = await connectionRow(connection.id);
    // As many isolates at once: each read the same row, each would present the same refresh token.
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => savedToken(env.DB, env.VAULT_KEY, request)));
    // A second presentation of a rotated refresh token is reuse: a provider that detects it revokes the grant.
    expect(refreshRequests()).toBe(1);
    const authorizations = outcomes.map(({ result }) => (result.ok ? result.authorization : result.refusal));
    expect(new Set(authorizations).size).toBe(1);
    const [authorization = ""] = authorizations;
    expect(await upstreamActive(authorization.slice("Bearer ".length))).toBe(true);
    const after = await connectionRow(connection.id);
    expect(after.refreshTokenSealed).not.toBe(before.refreshTokenSealed);
    expect(after.updatedAt.getTime()).toBeLessThanOrEqual(Date.now());
  });

  it("a refresh the provider refuses puts its claim back: saved_connection_expired, updated_at as it was", async () => {
    const { connection, request, updatedAt } = await dueForRefresh();
    await env.DB.prepare("UPDATE vault_connection SET expires_at = ? WHERE id = ?")
      .bind(Date.now() - 1000, connection.id)
      .run();
    // The provider no longer knows the refresh token (spent by a refresh we do not see): 400 invalid_grant.
    const row = await connectionRow(connection.id);
    const key = await orgDataKey(env.DB, env.VAULT_KEY, row.orgId);
    const refreshToken = await openField(key, tokenPlace(row, "refresh_token"), row.refreshTokenSealed ?? "");
    const spent = await upstream().fetch(`${UPSTREAM}/token`, {
      method: "POST",
      headers: { Authorization: `Basic ${btoa(`${UPSTREAM_CLIENT.id}:${UPSTREAM_CLIENT.secret}`)}` },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken }),
    });
    expect(spent.status).toBe(200);
    const refused = await savedToken(env.DB, env.VAULT_KEY, { ...request, forceRefresh: true });
    expect(refused.result).toEqual({ ok: false, refusal: "saved_connection_expired", connectionId: connection.id });
    expect(refreshRequests()).toBe(1);
    expect((await connectionRow(connection.id)).updatedAt.getTime()).toBe(updatedAt);
  });
});
