import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { AGENT_API } from "../../shared/contracts/mcp.ts";
import { SSF_DELIVERY } from "../../shared/contracts/ssf.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { adminRequest } from "./admin-fixtures.ts";
import { clientToken } from "./clients-fixtures.ts";
import { AUDIENCE, seedSession } from "./fixtures.ts";
import { agentRequest, PURGE } from "./mcp-access-fixtures.ts";
import { createVersion } from "./policies-fixtures.ts";
import { seedMember } from "./token-exchange-fixtures.ts";
import { bindAgent, connectOrgAsAdmin, createProvider, operatorConnectLink } from "./vault-fixtures.ts";

// The world of test/token/admin-object-isolation.test.ts: two orgs, each
// holding one object of every kind the admin API names by a path parameter,
// made the way their owners make them (the admin API, the agent API, the
// vault's connect flow; members and sessions as Better Auth writes them),
// and what "unchanged" means for an org (every D1 row it owns and its
// Durable Object's state).

/** One org's objects, by the path parameter that names each. */
export interface OrgObjects {
  orgId: string;
  /** An owner of the org with a console session (the org's admin in the tests). */
  owner: Awaited<ReturnType<typeof seedSession>>;
  clientId: string;
  /** A member who is not an owner (the one the member routes name). */
  memberId: string;
  inviteJti: string;
  delegationGrantId: string;
  mcpServerName: string;
  /** A request still pending (approve and deny would decide it). */
  accessRequestId: string;
  /** The grant of another request of the same agent, approved. */
  mcpGrantId: string;
  /** The org's newest policy version (org B has one more than org A, so A has no version of that number). */
  policyVersion: number;
  trustedIssuerId: string;
  ssfStreamId: string;
  scimTokenId: string;
  vaultProviderId: string;
  /** A saved connection through that provider, with `clientId` bound to it. */
  vaultConnectionId: string;
  /** An operator's connect link for the org's own connection through that provider, not yet confirmed. */
  connectLink: string;
}

async function answered<T>(response: Response, what: string, status = 201): Promise<T> {
  if (response.status !== status) throw new Error(`${what}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** An org and its objects; `policyVersions` drafts, the first of them published. */
export async function orgWithEveryObject(operator: string, policyVersions: number): Promise<OrgObjects> {
  const owner = await seedSession({ role: "owner" });
  const orgId = owner.orgId;
  const post = (path: string, body: unknown) =>
    adminRequest("POST", `/orgs/${orgId}${path}`, { token: operator, body });
  const tag = crypto.randomUUID().slice(0, 8);

  const client = await answered<{ client_id: string; client_secret: string }>(
    await post("/clients", {
      client_name: `isolation ${tag}`,
      client_type: "machine",
      scope: "documents:read",
      audiences: [AUDIENCE],
    }),
    "client",
  );
  const memberId = await seedMember(orgId);
  const [invite, delegation, server, issuer, stream, scim, provider] = await Promise.all([
    answered<{ jti: string }>(await post("/invites", { scopes: ["documents:read"], ttl_seconds: 3600 }), "invite"),
    answered<{ id: string }>(
      await post("/delegation-grants", {
        subject: memberId,
        actor_client_id: client.client_id,
        scopes: ["documents:read"],
        audiences: [AUDIENCE],
      }),
      "delegation grant",
    ),
    answered<{ name: string }>(
      await post("/mcp-servers", {
        name: `iso-${tag}`,
        upstream: { binding: "DEMO" },
        scopes: ["documents:read"],
        tools: [{ name: "purge_documents", sensitivity: "sensitive" }],
        owner: "ops",
      }),
      "MCP server",
    ),
    answered<{ id: string }>(
      await post("/trusted-issuers", {
        issuer: `https://idp-${tag}.example.com`,
        jwks_uri: `https://idp-${tag}.example.com/jwks.json`,
      }),
      "trusted issuer",
    ),
    answered<{ stream_id: string }>(
      await post("/ssf/streams", { aud: `rp-${tag}`, delivery: { method: SSF_DELIVERY.poll } }),
      "SSF stream",
    ),
    answered<{ id: string }>(await post("/scim-tokens", { description: "isolation" }), "SCIM token"),
    createProvider(orgId, {}, operator),
  ]);

  // The agent's two requests: one approved (the MCP grant), one left pending.
  const agentToken = await clientToken({ clientId: client.client_id, orgId, secret: client.client_secret });
  const fileRequest = async () =>
    answered<{ id: string }>(await agentRequest("POST", AGENT_API.accessRequests, agentToken, PURGE), "request");
  const approved = await fileRequest();
  const decision = await answered<{ grant: { id: string } }>(
    await adminRequest("POST", `/orgs/${orgId}/access-requests/${approved.id}/approve`, { token: operator, body: {} }),
    "approval",
    200,
  );
  const pending = await fileRequest();

  let policyVersion = 0;
  for (let i = 0; i < policyVersions; i++) policyVersion = (await createVersion(operator, orgId)).version;
  const published = await adminRequest("POST", `/orgs/${orgId}/policies/1/publish`, { token: operator });
  expect(published.status).toBe(200);

  const connection = await connectOrgAsAdmin(owner, orgId, provider.id);
  await bindAgent(orgId, connection.id, client.client_id, operator);
  const connectLink = await operatorConnectLink(orgId, provider.id);

  return {
    orgId,
    owner,
    clientId: client.client_id,
    memberId,
    inviteJti: invite.jti,
    delegationGrantId: delegation.id,
    mcpServerName: server.name,
    accessRequestId: pending.id,
    mcpGrantId: decision.grant.id,
    policyVersion,
    trustedIssuerId: issuer.id,
    ssfStreamId: stream.stream_id,
    scimTokenId: scim.id,
    vaultProviderId: provider.id,
    vaultConnectionId: connection.id,
    connectLink,
  };
}

/** The D1 tables that hold an org's rows, and the column naming the org (read from the schema once). */
let tablesOfOrgs: Promise<{ table: string; column: string }[]> | undefined;

function orgTables(): Promise<{ table: string; column: string }[]> {
  tablesOfOrgs ??= readOrgTables();
  return tablesOfOrgs;
}

async function readOrgTables(): Promise<{ table: string; column: string }[]> {
  const tables = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'd1_%' ORDER BY name",
  ).all<{ name: string }>();
  const found: { table: string; column: string }[] = [];
  for (const { name } of tables.results) {
    const columns = await env.DB.prepare(`SELECT name FROM pragma_table_info(?)`).bind(name).all<{ name: string }>();
    const column = columns.results.map((c) => c.name).find((c) => c === "org_id" || c === "organization_id");
    if (column) found.push({ table: name, column });
  }
  return found;
}

/**
 * Everything an org holds, to compare before and after: every D1 row of
 * every table with an org column (each row as JSON, sorted), and its
 * Durable Object's revocations and policy publication.
 */
export async function orgState(orgId: string): Promise<Record<string, unknown>> {
  const state: Record<string, unknown> = {};
  const tables = await orgTables();
  const rows = await env.DB.batch(
    tables.map(({ table, column }) => env.DB.prepare(`SELECT * FROM "${table}" WHERE "${column}" = ?`).bind(orgId)),
  );
  tables.forEach(({ table }, i) => {
    state[table] = (rows[i]?.results ?? []).map((row) => JSON.stringify(row)).sort();
  });
  const object = env.ORG_STATE.getByName(orgStateName(orgId));
  state.org_state = await object.snapshot(orgId);
  state.policy_publication = await object.policyPublication();
  return state;
}
