/**
 * MCP servers behind the gateway and the operator review of agent access to
 * them (the token Worker's tables, workers/token/src/mcp/): each org's
 * registry, the access requests agents file, the grants approvals create,
 * and where each org's notifications go. Space-separated lists follow RFC
 * 6749 §3.3's scope syntax; `tools` is JSON (a name and a sensitivity each).
 */
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * One MCP server of one org, fronted by the gateway at `/mcp/<name>`, whose
 * RFC 8707 resource identifier (the `aud` its tokens carry) is
 * `<issuer>/mcp/<name>`. Names are unique per org; two orgs may each have
 * a server of the same name, told apart by the token's `org_id`.
 */
export const mcpServer = sqliteTable(
  "mcp_server",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    name: text("name").notNull(),
    /** `url`: an https origin (and base path); `binding`: one of the gateway's service bindings named in shared/contracts/mcp.ts. */
    upstreamKind: text("upstream_kind", { enum: ["url", "binding"] }).notNull(),
    upstream: text("upstream").notNull(),
    resource: text("resource").notNull(),
    scopes: text("scopes").notNull(),
    /** JSON: `[{ "name": "...", "sensitivity": "normal" | "sensitive" }]`. */
    tools: text("tools").notNull(),
    description: text("description").notNull(),
    owner: text("owner").notNull(),
    status: text("status", { enum: ["active", "disabled"] }).notNull(),
    /**
     * The org's vault provider (`vault_provider.id`) whose saved token the
     * gateway puts on requests to this server (docs/vault.md); null: none.
     */
    savedConnection: text("saved_connection"),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
  },
  (table) => [
    uniqueIndex("mcp_server_org_name").on(table.orgId, table.name),
    index("mcp_server_name_idx").on(table.name),
  ],
);

/**
 * An agent's request for access to an org's MCP server: pending until an
 * operator approves or denies it, or until `expires_at` passes (then it is
 * `expired`, written by the first read that sees it so).
 */
export const mcpAccessRequest = sqliteTable(
  "mcp_access_request",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    /** The agent (client) that asked. */
    clientId: text("client_id").notNull(),
    serverName: text("server_name").notNull(),
    resource: text("resource").notNull(),
    scopes: text("scopes").notNull(),
    tools: text("tools").notNull(),
    /** `org` (the agent acting as itself) or a user id of the org. */
    onBehalfOf: text("on_behalf_of").notNull(),
    reason: text("reason").notNull(),
    /** How long the agent asks the grant to last. */
    ttlSeconds: integer("ttl_seconds").notNull(),
    status: text("status", { enum: ["pending", "approved", "denied", "expired"] }).notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    decidedBy: text("decided_by"),
    decidedAt: integer("decided_at", { mode: "timestamp_ms" }),
    decisionNote: text("decision_note"),
    grantId: text("grant_id"),
  },
  // The admin API's pages, newest first, unfiltered, by status or by agent (migration 0028);
  // the status one also finds an org's pending requests as (org_id, status) did.
  (table) => [
    index("mcp_access_request_org_created_idx").on(table.orgId, table.createdAt, table.id),
    index("mcp_access_request_org_status_created_idx").on(table.orgId, table.status, table.createdAt, table.id),
    index("mcp_access_request_client_created_idx").on(table.orgId, table.clientId, table.createdAt, table.id),
  ],
);

/**
 * What an approval grants: the agent may use these tools and scopes of one
 * server, for the org or for one user, until `expires_at` or a revocation.
 * Its own table, not delegation_grant: it names tools and a server, and an
 * agent acting as itself (`on_behalf_of` = `org`) has no person to be a
 * delegation's subject. A grant for a user also writes a delegation grant
 * (`delegation_grant_id`), so token exchange honours it the way it honours
 * every delegation, and revoking one revokes both.
 */
export const mcpGrant = sqliteTable(
  "mcp_grant",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    requestId: text("request_id"),
    clientId: text("client_id").notNull(),
    serverName: text("server_name").notNull(),
    resource: text("resource").notNull(),
    scopes: text("scopes").notNull(),
    tools: text("tools").notNull(),
    onBehalfOf: text("on_behalf_of").notNull(),
    status: text("status", { enum: ["active", "revoked"] }).notNull(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    delegationGrantId: text("delegation_grant_id"),
    createdBy: text("created_by").notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
    revokedBy: text("revoked_by"),
  },
  (table) => [
    index("mcp_grant_lookup_idx").on(table.orgId, table.clientId, table.serverName),
    // The admin API's pages, newest first, unfiltered, by status or by agent (migration 0028).
    index("mcp_grant_org_created_idx").on(table.orgId, table.createdAt, table.id),
    index("mcp_grant_org_status_created_idx").on(table.orgId, table.status, table.createdAt, table.id),
    index("mcp_grant_client_created_idx").on(table.orgId, table.clientId, table.createdAt, table.id),
  ],
);

/** Where an org's access-request notifications are POSTed (signed JWS, workers/token/src/mcp/notify.ts). */
export const mcpWebhook = sqliteTable("mcp_webhook", {
  orgId: text("org_id").primaryKey(),
  url: text("url").notNull(),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
});
