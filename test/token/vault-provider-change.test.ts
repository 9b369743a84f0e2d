import { env, exports } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { registerTestClient } from "./clients-fixtures.ts";
import { seedSession } from "./fixtures.ts";
import {
  bindAgent,
  connectAsUser,
  connectionRow,
  createProvider,
  UPSTREAM,
  UPSTREAM_CLIENT,
  upstream,
  upstreamRequests,
} from "./vault-fixtures.ts";

/** The provider's new home after the admin moves it (say, from a test app to production). */
const PRODUCTION = "https://production.vault.test";

/** Every request the token Worker sent to a provider: where, and the client credentials it carried. */
let sent: { url: string; basic: string | null }[] = [];

beforeEach(() => {
  sent = [];
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation((input, init) => {
    const request = new Request(input, init);
    const origin = new URL(request.url).origin;
    if (origin !== UPSTREAM && origin !== PRODUCTION) return realFetch(input, init);
    const header = request.headers.get("Authorization");
    sent.push({ url: request.url, basic: header?.startsWith("Basic ") ? atob(header.slice(6)) : null });
    return upstream().fetch(request);
  });
});
afterEach(() => vi.restoreAllMocks());

async function connected() {
  const s = await seedSession();
  const provider = await createProvider(s.orgId);
  const connection = await connectAsUser(s, provider.name);
  const agent = await registerTestClient({ orgId: s.orgId, kind: "agent" });
  await bindAgent(s.orgId, connection.id, agent.clientId);
  sent = [];
  return { s, provider, connection, request: { orgId: s.orgId, subject: s.userId, agentClientId: agent.clientId } };
}

function forceRefresh(request: { orgId: string; subject: string; agentClientId: string }) {
  return exports.VaultService.savedToken({
    resource: "demo-echo",
    decisionId: crypto.randomUUID(),
    forceRefresh: true,
    ...request,
  });
}

async function patchProvider(orgId: string, id: string, body: Record<string, unknown>) {
  const response = await adminRequest("PATCH", `/orgs/${orgId}/vault/providers/${id}`, {
    token: await adminToken(),
    body,
  });
  expect(response.status).toBe(200);
}

describe("vault refresh after the provider's client changed", () => {
  it("never sends the provider's new secret to the endpoint an older connection was made with: saved_connection_expired", async () => {
    const { s, provider, connection, request } = await connected();
    const newSecret = `production-secret-${crypto.randomUUID()}`;
    await patchProvider(s.orgId, provider.id, {
      token_endpoint: `${PRODUCTION}/token`,
      client_id: "vault-production-client",
      client_secret: newSecret,
    });
    const before = await connectionRow(connection.id);
    expect(before.tokenEndpoint).toBe(`${UPSTREAM}/token`);

    expect(await forceRefresh(request)).toEqual({
      ok: false,
      refusal: "saved_connection_expired",
      connectionId: connection.id,
    });
    // No request at all: not the new secret to the old host, nor the old refresh token to the new one.
    expect(sent.filter((r) => r.basic?.includes(newSecret))).toEqual([]);
    expect(sent).toEqual([]);
    expect((await upstreamRequests(provider.name)).map((r) => r.grant_type)).toEqual(["authorization_code"]);
    expect((await connectionRow(connection.id)).updatedAt).toEqual(before.updatedAt);

    const cause = await vi.waitUntil(
      async () => {
        const row = await env.AUDIT_DB.prepare(
          "SELECT detail FROM audit_event WHERE org_id = ? AND kind = 'vault.token_refused'",
        )
          .bind(s.orgId)
          .first<{ detail: string }>();
        return row ? (JSON.parse(row.detail) as { error: string; cause: string }) : undefined;
      },
      { timeout: 10_000, interval: 100 },
    );
    expect(cause).toMatchObject({
      error: "saved_connection_expired",
      cause: "the provider's client or token endpoint changed since the connection was made",
    });
  });

  it("a changed client id alone at the same endpoint is refused the same way", async () => {
    const { s, provider, connection, request } = await connected();
    await patchProvider(s.orgId, provider.id, { client_id: "vault-public-client", client_secret: null });
    expect(await forceRefresh(request)).toEqual({
      ok: false,
      refusal: "saved_connection_expired",
      connectionId: connection.id,
    });
    expect(sent).toEqual([]);
  });

  it("a secret rotated for the same client and endpoint is used: the refresh goes through", async () => {
    const { s, provider, connection, request } = await connected();
    await patchProvider(s.orgId, provider.id, { client_secret: UPSTREAM_CLIENT.secret });
    expect(await forceRefresh(request)).toMatchObject({ ok: true, connectionId: connection.id });
    expect(sent).toEqual([{ url: `${UPSTREAM}/token`, basic: `${UPSTREAM_CLIENT.id}:${UPSTREAM_CLIENT.secret}` }]);
  });
});

describe("moving a provider's token endpoint", () => {
  it("without its client secret given again: 400 invalid_body, nothing changed (the sealed secret would go to the new host)", async () => {
    const s = await seedSession();
    const provider = await createProvider(s.orgId);
    const token = await adminToken();
    const path = `/orgs/${s.orgId}/vault/providers/${provider.id}`;
    const problem = await expectHttpError(
      await adminRequest("PATCH", path, { token, body: { token_endpoint: "https://collector.example.net/token" } }),
      400,
      "invalid_body",
    );
    expect(problem.detail).toMatch(/^client_secret: /);
    const row = await env.DB.prepare("SELECT token_endpoint FROM vault_provider WHERE id = ?")
      .bind(provider.id)
      .first<{ token_endpoint: string }>();
    expect(row?.token_endpoint).toBe(`${UPSTREAM}/token`);

    // The same endpoint again, a public client's move, or a move with its secret: as before.
    await patchProvider(s.orgId, provider.id, { token_endpoint: `${UPSTREAM}/token` });
    await patchProvider(s.orgId, provider.id, { token_endpoint: `${PRODUCTION}/token`, client_secret: "new-secret" });
    await patchProvider(s.orgId, provider.id, { token_endpoint: `${UPSTREAM}/token`, client_secret: null });
    await patchProvider(s.orgId, provider.id, { token_endpoint: `${PRODUCTION}/token` });
  });
});
