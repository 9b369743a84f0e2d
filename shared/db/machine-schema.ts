/**
 * Machines and agents as principals (the token Worker's tables): clients and
 * their credentials, per-org mint guardrails, delegation grants, host
 * invites and the external identity providers an org trusts for ID-JAG.
 * Space-separated lists follow RFC 6749 §3.3's scope syntax.
 */
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * A confidential OAuth client of one org (a machine, an agent or a service),
 * or of the platform itself (`org_id` null: operator clients). `client_id`
 * always carries the `mac_` prefix, so it can never equal a user's `sub`
 * (RFC 9700 §4.15).
 */
export const oauthClient = sqliteTable(
  "oauth_client",
  {
    clientId: text("client_id").primaryKey(),
    orgId: text("org_id"),
    name: text("name").notNull(),
    type: text("type", { enum: ["machine", "agent", "service"] }).notNull(),
    /** The user who owns it, when a person registered it. */
    ownerUserId: text("owner_user_id"),
    /** RFC 7591 §2 `token_endpoint_auth_method`. */
    authMethod: text("auth_method", {
      enum: ["client_secret_basic", "client_secret_post", "private_key_jwt"],
    }).notNull(),
    /** shared/crypto/secret-hash.ts output; never the secret itself. */
    secretHash: text("secret_hash"),
    /** RFC 7591 `jwks` (inline JSON) or `jwks_uri`, for private_key_jwt. */
    jwks: text("jwks"),
    jwksUri: text("jwks_uri"),
    grantTypes: text("grant_types").notNull(),
    scopes: text("scopes").notNull(),
    /** Resources (RFC 8707) / audiences it may get tokens for. */
    audiences: text("audiences").notNull(),
    /** Its own cap on access-token lifetime, under the org's and the issuer's. */
    maxTtlSeconds: integer("max_ttl_seconds"),
    requireDpop: integer("require_dpop", { mode: "boolean" }).notNull().default(false),
    /** May introspect and revoke any of its org's tokens (RFC 7662 §2.1's protected resource). */
    resourceServer: integer("resource_server", { mode: "boolean" }).notNull().default(false),
    status: text("status", { enum: ["active", "disabled", "pending"] }).notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
    lastUsedAt: integer("last_used_at", { mode: "timestamp_ms" }),
    /**
     * Set in the same write as a narrowing change, cleared once that
     * change's `client` cut-off is recorded (admin/client-narrowing.ts): while
     * set, the next change of the client records a cut-off whatever it changes.
     */
    pendingCutoff: text("pending_cutoff"),
  },
  // The admin API's pages of an org's clients (migration 0028), and every read by org alone.
  (table) => [index("oauth_client_org_created_idx").on(table.orgId, table.createdAt, table.clientId)],
);

/**
 * Per-org mint guardrails. A missing row means the defaults in
 * workers/token/src/config.ts; every value narrows, never widens, the
 * issuer's own limits.
 */
export const orgTokenPolicy = sqliteTable("org_token_policy", {
  orgId: text("org_id").primaryKey(),
  maxTtlMachineSeconds: integer("max_ttl_machine_seconds"),
  maxTtlAgentSeconds: integer("max_ttl_agent_seconds"),
  /** Space-separated; null = every audience the issuer serves. */
  allowedAudiences: text("allowed_audiences"),
  /** Space-separated; null = every scope the issuer knows. */
  scopeCeiling: text("scope_ceiling"),
  /** Longest `act` chain a token of this org may carry. */
  maxDelegationDepth: integer("max_delegation_depth").notNull().default(2),
  requireDpopForAgents: integer("require_dpop_for_agents", { mode: "boolean" }).notNull().default(false),
  mintsPerMinutePerClient: integer("mints_per_minute_per_client").notNull().default(600),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
});

/**
 * A person's (or the org's) consent that an agent client may act for them:
 * token exchange with an `actor_token` honours only live grants.
 */
export const delegationGrant = sqliteTable(
  "delegation_grant",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    /** The user the agent acts for. */
    subject: text("subject").notNull(),
    actorClientId: text("actor_client_id").notNull(),
    scopes: text("scopes").notNull(),
    audiences: text("audiences").notNull(),
    status: text("status", { enum: ["active", "revoked"] }).notNull(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }),
    createdBy: text("created_by").notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
  },
  (table) => [
    // One subject's grants to one actor: the live ones every acting token exchange reads, and the
    // admin API's page filtered by both, newest first, with no sort (migration 0031; it replaced
    // delegation_grant_lookup_idx, the same columns without the order).
    index("delegation_grant_parties_created_idx").on(
      table.orgId,
      table.subject,
      table.actorClientId,
      table.createdAt,
      table.id,
    ),
    // The admin API's pages, newest first, unfiltered, by subject or by actor (migration 0028).
    index("delegation_grant_org_created_idx").on(table.orgId, table.createdAt, table.id),
    index("delegation_grant_subject_created_idx").on(table.orgId, table.subject, table.createdAt, table.id),
    index("delegation_grant_actor_created_idx").on(table.orgId, table.actorClientId, table.createdAt, table.id),
  ],
);

/**
 * Host-bootstrap invites. The invite itself is a signed JWT; this row makes
 * it single-use: redemption is one conditional UPDATE (`redeemed_at IS
 * NULL`) on D1's primary, so of any number of concurrent attempts exactly
 * one wins.
 */
export const hostInvite = sqliteTable(
  "host_invite",
  {
    jti: text("jti").primaryKey(),
    orgId: text("org_id").notNull(),
    /** JSON object of string labels. */
    labels: text("labels").notNull(),
    scopes: text("scopes").notNull(),
    audiences: text("audiences").notNull(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    redeemedAt: integer("redeemed_at", { mode: "timestamp_ms" }),
    /** The client the redemption created. */
    clientId: text("client_id"),
    /**
     * RFC 9449 §5.2 `dpop_bound_access_tokens` for the client the
     * redemption creates: copied into its `oauth_client.require_dpop`.
     */
    requireDpop: integer("require_dpop", { mode: "boolean" }).notNull().default(false),
  },
  // The admin API's pages of an org's invites (migration 0028), and every read by org alone.
  (table) => [index("host_invite_org_created_idx").on(table.orgId, table.createdAt, table.jti)],
);

/** External identity providers an org trusts to issue ID-JAGs to us. */
export const trustedIssuer = sqliteTable(
  "trusted_issuer",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    issuer: text("issuer").notNull(),
    jwksUri: text("jwks_uri").notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    /**
     * When a removal withdrew the trust (null: trusted). The row stays until
     * the removal has recorded its cut-off to the end, so a removal that
     * fails after withdrawing it leaves the row for its retry to finish
     * (workers/token/src/admin/trusted-issuers.ts); no redemption reads it.
     */
    removingSince: integer("removing_since", { mode: "timestamp_ms" }),
  },
  (table) => [uniqueIndex("trusted_issuer_org_issuer_idx").on(table.orgId, table.issuer)],
);

/** Users who operate the whole platform (`mono-auth operator bootstrap`). */
export const platformOperator = sqliteTable("platform_operator", {
  userId: text("user_id").primaryKey(),
  email: text("email").notNull(),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
});
