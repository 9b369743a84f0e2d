/**
 * The saved-token vault (the token Worker's tables, workers/token/src/vault/):
 * third-party OAuth tokens we hold for an org or one of its people, so agents
 * can use them through the gateway without ever seeing them. Every secret
 * column is `base64url(iv ‖ AES-256-GCM ciphertext)` under the org's data key
 * (`vault_org_key`), with associated data naming the org, the table, the row
 * and the column (workers/token/src/vault/sealed-field.ts): a ciphertext
 * copied onto another row, column or org does not decrypt.
 * Space-separated lists follow RFC 6749 §3.3's scope syntax.
 */
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * One data key per org, wrapped (AES-256-GCM, the org id as associated data)
 * by a key derived from the token Worker's `VAULT_KEY` secret. Written once,
 * INSERT OR IGNORE, so two isolates racing to create it agree on the winner.
 */
export const vaultOrgKey = sqliteTable("vault_org_key", {
  orgId: text("org_id").primaryKey(),
  wrappedKey: text("wrapped_key").notNull(),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
});

/**
 * An upstream OAuth authorization server an org connects to, with the client
 * registration we use there as the OAuth client. `resource` is what it
 * serves: the gateway route's saved-connection resource (route-table.ts), an
 * upstream resource URL or an MCP server name.
 */
export const vaultProvider = sqliteTable(
  "vault_provider",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    /** Unique per org; the `<provider>` of `GET /vault/connect/<provider>`. */
    name: text("name").notNull(),
    resource: text("resource").notNull(),
    authorizationEndpoint: text("authorization_endpoint").notNull(),
    tokenEndpoint: text("token_endpoint").notNull(),
    /** RFC 7009 §2: where a deleted connection's tokens are revoked; null when the provider has none (migration 0018). */
    revocationEndpoint: text("revocation_endpoint"),
    clientId: text("client_id").notNull(),
    /** Sealed; null for a public client (PKCE only, RFC 7636). */
    clientSecretSealed: text("client_secret_sealed"),
    scopes: text("scopes").notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
  },
  (table) => [uniqueIndex("vault_provider_org_name").on(table.orgId, table.name)],
);

/**
 * A saved connection: the tokens one owner (a person of the org, or the org
 * itself) obtained from a provider. One per (provider, owner): connecting
 * again replaces the tokens. `token_endpoint` and `client_id` are the ones
 * the tokens were issued through, which a refresh must use (RFC 6749 §6).
 */
export const vaultConnection = sqliteTable(
  "vault_connection",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    providerId: text("provider_id").notNull(),
    resource: text("resource").notNull(),
    ownerKind: text("owner_kind", { enum: ["user", "org"] }).notNull(),
    /** The user id, or the org id for an org-owned connection. */
    ownerId: text("owner_id").notNull(),
    tokenEndpoint: text("token_endpoint").notNull(),
    clientId: text("client_id").notNull(),
    accessTokenSealed: text("access_token_sealed").notNull(),
    refreshTokenSealed: text("refresh_token_sealed"),
    tokenType: text("token_type").notNull(),
    /** When the access token expires; null when the provider did not say (RFC 6749 §5.1 `expires_in`). */
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }),
    scopes: text("scopes").notNull(),
    /** Who connected it: `user:<id>` or `operator:<client_id>`. */
    createdBy: text("created_by").notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    /** Every token change (connect, refresh) moves it: a refresh that lost a race sees it moved. */
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
    lastUsedAt: integer("last_used_at", { mode: "timestamp_ms" }),
  },
  (table) => [
    uniqueIndex("vault_connection_owner").on(table.orgId, table.providerId, table.ownerId),
    index("vault_connection_resource").on(table.orgId, table.resource),
    // The admin API's pages of an org's connections (migration 0028).
    index("vault_connection_org_created").on(table.orgId, table.createdAt, table.id),
  ],
);

/**
 * Which agents (clients of the org) may use a saved connection: default
 * deny, so a connection nobody bound serves no one.
 */
export const vaultConnectionAgent = sqliteTable(
  "vault_connection_agent",
  {
    connectionId: text("connection_id").notNull(),
    clientId: text("client_id").notNull(),
    orgId: text("org_id").notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  },
  (table) => [primaryKey({ columns: [table.connectionId, table.clientId] })],
);

/**
 * A connection flow in progress (RFC 6749 §10.12, RFC 7636): the SHA-256 of
 * the `state` we sent (the value itself is a capability, never stored), the
 * browser session it is bound to (`session:<id>`: the person who started it,
 * or who confirmed an operator's link), the sealed PKCE verifier. Consumed by
 * one conditional DELETE at the callback.
 */
export const vaultConnectState = sqliteTable(
  "vault_connect_state",
  {
    stateHash: text("state_hash").primaryKey(),
    orgId: text("org_id").notNull(),
    providerId: text("provider_id").notNull(),
    ownerKind: text("owner_kind", { enum: ["user", "org"] }).notNull(),
    ownerId: text("owner_id").notNull(),
    boundTo: text("bound_to").notNull(),
    codeVerifierSealed: text("code_verifier_sealed").notNull(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  },
  // The token Worker's cron prunes expired flows by this (migration 0023).
  (table) => [index("vault_connect_state_expires_at_idx").on(table.expiresAt)],
);

/**
 * A connect link an operator client started (shared/contracts/vault.ts
 * VAULT_CONNECT_LINK), waiting for an admin of the org to confirm it in the
 * browser: the SHA-256 of the link's value (never the value), the flow it
 * will start, and who asked (`operator:<client_id>`). Consumed by one
 * conditional DELETE at the confirmation, which then starts a flow bound to
 * the confirming person's session (vault_connect_state). Migration 0020.
 */
export const vaultConnectLink = sqliteTable(
  "vault_connect_link",
  {
    linkHash: text("link_hash").primaryKey(),
    orgId: text("org_id").notNull(),
    providerId: text("provider_id").notNull(),
    ownerKind: text("owner_kind", { enum: ["user", "org"] }).notNull(),
    ownerId: text("owner_id").notNull(),
    startedBy: text("started_by").notNull(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  },
  // The token Worker's cron prunes expired links by this (migration 0023).
  (table) => [index("vault_connect_link_expires_at_idx").on(table.expiresAt)],
);
