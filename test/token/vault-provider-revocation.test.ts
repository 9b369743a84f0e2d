import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { tokenPlace } from "../../workers/token/src/vault/connections.ts";
import { openField } from "../../workers/token/src/vault/sealed-field.ts";
import { orgDataKey } from "../../workers/token/src/vault/vault-key.ts";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { seedSession } from "./fixtures.ts";
import {
  connectAsUser,
  connectionRow,
  createProvider,
  routeUpstream,
  UPSTREAM,
  UPSTREAM_CLIENT,
  upstream,
  upstreamActive,
} from "./vault-fixtures.ts";

// Deleting a saved connection deletes it here first, whatever the provider does, then revokes its
// tokens at the provider's RFC 7009 revocation endpoint (when it has one), so they do not outlive
// the delete there; a provider that is down leaves the delete done, and the answer and the audit
// say its tokens were not revoked.
beforeEach(() => routeUpstream());
afterEach(() => vi.restoreAllMocks());

/** A person's connection through a provider with these fields, and the plaintext tokens it holds. */
async function connected(fields: Record<string, unknown>) {
  const s = await seedSession();
  const provider = await createProvider(s.orgId, fields);
  const connection = await connectAsUser(s, provider.name);
  const row = await connectionRow(connection.id);
  const key = await orgDataKey(env.DB, env.VAULT_KEY, s.orgId);
  const accessToken = await openField(key, tokenPlace(row, "access_token"), row.accessTokenSealed);
  const refreshToken = await openField(key, tokenPlace(row, "refresh_token"), row.refreshTokenSealed ?? "");
  return { s, provider, connection, accessToken, refreshToken };
}

function deleteConnection(orgId: string, id: string): Promise<Response> {
  return adminToken().then((token) => adminRequest("DELETE", `/orgs/${orgId}/vault/connections/${id}`, { token }));
}

/** Whether the provider still takes the refresh token (a refresh there, as the vault would make). */
async function refreshWorks(refreshToken: string): Promise<boolean> {
  const response = await upstream().fetch(`${UPSTREAM}/token`, {
    method: "POST",
    headers: { Authorization: `Basic ${btoa(`${UPSTREAM_CLIENT.id}:${UPSTREAM_CLIENT.secret}`)}` },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken }),
  });
  return response.status === 200;
}

/** What the provider's revocation endpoint received for this provider's tokens, in a stable order. */
async function revocationsAt(providerName: string) {
  const response = await upstream().fetch(`${UPSTREAM}/revocations?tag=${encodeURIComponent(providerName)}`);
  const rows = (await response.json()) as {
    token_type_hint: string;
    client_auth: string;
    token: string;
    status: number;
  }[];
  return rows.sort((a, b) => a.token_type_hint.localeCompare(b.token_type_hint));
}

/** The admin.action audit event of the delete (written through the audit queue). */
async function deleteAudit(orgId: string, connectionId: string): Promise<Record<string, unknown>> {
  return vi.waitUntil(
    async () => {
      const { results } = await env.AUDIT_DB.prepare(
        "SELECT detail FROM audit_event WHERE org_id = ? AND kind = 'admin.action' AND instr(detail, ?) > 0",
      )
        .bind(orgId, connectionId)
        .all<{ detail: string }>();
      return results
        .map((r) => JSON.parse(r.detail) as Record<string, unknown>)
        .find((detail) => detail.action === "vault_connection.delete");
    },
    { timeout: 10_000, interval: 100 },
  );
}

describe("deleting a saved connection revokes its tokens at the provider (RFC 7009)", () => {
  it("revokes the refresh token and the access token there, as the provider's client: provider_revocation revoked", async () => {
    const { s, provider, connection, accessToken, refreshToken } = await connected({
      revocation_endpoint: `${UPSTREAM}/revoke`,
    });
    expect(provider).toMatchObject({ revocation_endpoint: `${UPSTREAM}/revoke` });
    const response = await deleteConnection(s.orgId, connection.id);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id: connection.id, deleted: true, provider_revocation: "revoked" });
    expect(await revocationsAt(provider.name)).toEqual([
      { token_type_hint: "access_token", client_auth: "client_secret_basic", token: "access_token", status: 200 },
      { token_type_hint: "refresh_token", client_auth: "client_secret_basic", token: "refresh_token", status: 200 },
    ]);
    expect(await upstreamActive(accessToken)).toBe(false);
    expect(await refreshWorks(refreshToken)).toBe(false);
    await expect(connectionRow(connection.id)).rejects.toThrow(/no connection/);
    const audit = await deleteAudit(s.orgId, connection.id);
    expect(audit).toMatchObject({ action: "vault_connection.delete", provider_revocation: "revoked" });
    expect(JSON.stringify(audit)).not.toMatch(/up-at-|up-rt-/);
  });

  it("still deletes when the provider is down (503), and says so: provider_revocation failed, audited", async () => {
    const { s, provider, connection, accessToken } = await connected({
      revocation_endpoint: `${UPSTREAM}/revoke?status=503`,
    });
    const response = await deleteConnection(s.orgId, connection.id);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id: connection.id, deleted: true, provider_revocation: "failed" });
    expect((await revocationsAt(provider.name)).map((r) => r.status)).toEqual([503, 503]);
    // Gone here: no agent gets it again; live at the provider until it expires, as the answer said.
    await expect(connectionRow(connection.id)).rejects.toThrow(/no connection/);
    await expectHttpError(
      await adminRequest("GET", `/orgs/${s.orgId}/vault/connections/${connection.id}`, { token: await adminToken() }),
      404,
      "not_found",
    );
    expect(await upstreamActive(accessToken)).toBe(true);
    expect(await deleteAudit(s.orgId, connection.id)).toMatchObject({
      provider_revocation: "failed",
      provider_revocation_cause:
        "refresh_token: revocation endpoint answered 503; access_token: revocation endpoint answered 503",
    });
  });

  it("revokes every connection's tokens when their provider is deleted: provider_revocation counts them", async () => {
    const { s, provider, connection, accessToken, refreshToken } = await connected({
      revocation_endpoint: `${UPSTREAM}/revoke`,
    });
    const response = await adminRequest("DELETE", `/orgs/${s.orgId}/vault/providers/${provider.id}`, {
      token: await adminToken(),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      id: provider.id,
      deleted: true,
      connections_deleted: 1,
      provider_revocation: { revoked: 1, not_supported: 0, failed: 0 },
    });
    await expect(connectionRow(connection.id)).rejects.toThrow(/no connection/);
    expect(await upstreamActive(accessToken)).toBe(false);
    expect(await refreshWorks(refreshToken)).toBe(false);
  });

  it("asks nothing of a provider without a revocation endpoint: provider_revocation not_supported", async () => {
    const { s, provider, connection, accessToken } = await connected({});
    expect(provider).toMatchObject({ revocation_endpoint: null });
    const response = await deleteConnection(s.orgId, connection.id);
    expect(await response.json()).toEqual({ id: connection.id, deleted: true, provider_revocation: "not_supported" });
    expect(await revocationsAt(provider.name)).toEqual([]);
    expect(await upstreamActive(accessToken)).toBe(true);
  });

  it("never sends a connection's tokens to a revocation endpoint off the token endpoint's origin it was made with: failed, nothing sent", async () => {
    const { s, provider, connection, accessToken } = await connected({ revocation_endpoint: `${UPSTREAM}/revoke` });
    // An org admin points the revocation endpoint elsewhere after a member connected, then deletes the
    // member's connection: the member's refresh token and the provider's client secret would go there.
    const collector = "https://collector.example.net/revoke";
    const token = await adminToken();
    const patched = await adminRequest("PATCH", `/orgs/${s.orgId}/vault/providers/${provider.id}`, {
      token,
      body: { revocation_endpoint: collector },
    });
    expect(patched.status).toBe(200);
    const fetched: string[] = [];
    const routed = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation((input, init) => {
      fetched.push(new Request(input, init).url);
      return routed(input, init);
    });
    const response = await deleteConnection(s.orgId, connection.id);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id: connection.id, deleted: true, provider_revocation: "failed" });
    expect(fetched.filter((url) => url.startsWith("https://collector."))).toEqual([]);
    expect(await revocationsAt(provider.name)).toEqual([]);
    expect(await upstreamActive(accessToken)).toBe(true);
    expect(await deleteAudit(s.orgId, connection.id)).toMatchObject({
      provider_revocation: "failed",
      provider_revocation_cause:
        "the revocation endpoint is not on the origin of the token endpoint the connection was made with",
    });
  });

  it("guards the revocation endpoint as the other endpoints: 400 invalid_body when set, never fetched from a row written around it", async () => {
    const s = await seedSession();
    const token = await adminToken();
    for (const revocation of ["https://169.254.169.254/revoke", "http://revoke.example.com/revoke"]) {
      const refused = await adminRequest("POST", `/orgs/${s.orgId}/vault/providers`, {
        token,
        body: {
          name: `guarded-${crypto.randomUUID().slice(0, 8)}`,
          resource: "demo-echo",
          authorization_endpoint: `${UPSTREAM}/authorize`,
          token_endpoint: `${UPSTREAM}/token`,
          revocation_endpoint: revocation,
          client_id: UPSTREAM_CLIENT.id,
        },
      });
      const problem = await expectHttpError(refused, 400, "invalid_body");
      expect(JSON.stringify(problem)).toContain("revocation_endpoint");
    }
    const { provider, connection } = await connected({ revocation_endpoint: `${UPSTREAM}/revoke` });
    const internal = "https://169.254.169.254/latest/revoke";
    await env.DB.prepare("UPDATE vault_provider SET revocation_endpoint = ? WHERE id = ?")
      .bind(internal, provider.id)
      .run();
    const fetched: string[] = [];
    const routed = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation((input, init) => {
      fetched.push(new Request(input, init).url);
      return routed(input, init);
    });
    const orgId = (await connectionRow(connection.id)).orgId;
    const response = await deleteConnection(orgId, connection.id);
    expect(await response.json()).toEqual({ id: connection.id, deleted: true, provider_revocation: "failed" });
    expect(fetched.filter((url) => url.startsWith("https://169.254."))).toEqual([]);
    expect(await deleteAudit(orgId, connection.id)).toMatchObject({
      provider_revocation_cause: "ERR_OUTBOUND_URL_FORBIDDEN: revocation endpoint refused",
    });
  });
});
