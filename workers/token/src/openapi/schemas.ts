import { z } from "zod";
import { RECORDABLE_REVOCATION_KINDS } from "../../../../shared/contracts/revocation.ts";
import { MAX_DELEGATION_DEPTH } from "../../../../shared/contracts/tokens.ts";

/**
 * The admin API's request and response shapes for its OpenAPI document
 * (openapi/document.ts), one per noun. The handlers' own readers
 * (admin/validate.ts, admin/client-body.ts) enforce them, with a detail
 * that names the field; these say the same for a reader of the document.
 */

const time = z.iso.datetime().describe("ISO 8601");
/** RFC 6749 §3.3 style: a JSON array, or one space-separated string. */
const list = z.union([z.array(z.string()), z.string()]);
const ok = z.object({}).loose();

export const orgSchemas = {
  create: z.object({
    name: z.string().max(100),
    slug: z
      .string()
      .max(64)
      .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/)
      .optional(),
  }),
  view: z.object({ id: z.string(), name: z.string(), slug: z.string(), created_at: time }),
};
export const orgListSchema = z.object({ orgs: z.array(orgSchemas.view) });

const clientFields = {
  client_name: z.string().max(100),
  client_type: z.enum(["machine", "agent", "service"]),
  grant_types: list.optional(),
  scope: list,
  audiences: list,
  max_ttl_seconds: z.number().int().min(30).max(3600).nullable().optional(),
  dpop_bound_access_tokens: z.boolean().optional(),
  resource_server: z.boolean().optional(),
  owner_user_id: z.string().max(128).nullable().optional(),
  status: z.enum(["active", "pending", "disabled"]).optional(),
};
const clientView = z.object({
  client_id: z.string(),
  client_secret: z.string().optional().describe("only in the answer that created or rotated it"),
  client_secret_expires_at: z.literal(0).optional(),
  client_id_issued_at: z.number().int(),
  org_id: z.string(),
  client_name: z.string(),
  client_type: z.enum(["machine", "agent", "service"]),
  owner_user_id: z.string().nullable(),
  token_endpoint_auth_method: z.enum(["client_secret_basic", "client_secret_post", "private_key_jwt"]),
  grant_types: z.array(z.string()),
  scope: z.string(),
  audiences: z.array(z.string()),
  jwks: z.object({ keys: z.array(z.object({}).loose()) }).nullable(),
  jwks_uri: z.string().nullable(),
  max_ttl_seconds: z.number().int().nullable(),
  dpop_bound_access_tokens: z.boolean(),
  resource_server: z.boolean(),
  status: z.enum(["active", "pending", "disabled"]),
  created_at: time,
  updated_at: time,
  last_used_at: time.nullable(),
  cutoff_pending: z
    .boolean()
    .describe(
      "a narrowing change was written but its cut-off of the client's tokens is not recorded yet: tokens the old registration minted may still be accepted until the next change of the client or the five-minute cron records it",
    ),
});
const jwksOrUri = {
  jwks: z.object({ keys: z.array(z.object({}).loose()) }).optional(),
  jwks_uri: z.string().url().optional(),
};
export const clientSchemas = {
  create: z.object({
    ...clientFields,
    token_endpoint_auth_method: z.enum(["client_secret_basic", "client_secret_post", "private_key_jwt"]).optional(),
    ...jwksOrUri,
  }),
  update: z.object(clientFields).partial(),
  rotate: z.object(jwksOrUri).describe("private_key_jwt clients only: their new keys"),
  view: clientView,
  list: z.object({ clients: z.array(clientView), next_cursor: z.string().nullable() }),
  deleted: z.object({ client_id: z.string(), deleted: z.literal(true) }),
};

export const tokenPolicySchemas = {
  put: z.object({
    max_ttl_machine_seconds: z.number().int().nullable().optional(),
    max_ttl_agent_seconds: z.number().int().nullable().optional(),
    allowed_audiences: list.nullable().optional(),
    scope_ceiling: list.nullable().optional(),
    max_delegation_depth: z.number().int().min(0).max(MAX_DELEGATION_DEPTH).optional(),
    require_dpop_for_agents: z.boolean().optional(),
    mints_per_minute_per_client: z.number().int().min(1).optional(),
  }),
  view: z.object({
    org_id: z.string(),
    max_ttl_machine_seconds: z.number().int().nullable(),
    max_ttl_agent_seconds: z.number().int().nullable(),
    allowed_audiences: z.array(z.string()).nullable(),
    scope_ceiling: z.array(z.string()).nullable(),
    max_delegation_depth: z.number().int(),
    require_dpop_for_agents: z.boolean(),
    mints_per_minute_per_client: z.number().int(),
    default: z.boolean(),
    updated_at: time.nullable(),
  }),
};

const trustedIssuerView = z.object({
  id: z.string(),
  org_id: z.string(),
  issuer: z.string(),
  jwks_uri: z.string(),
  created_at: time,
});
export const trustedIssuerSchemas = {
  create: z.object({ issuer: z.string().url(), jwks_uri: z.string().url() }),
  view: trustedIssuerView,
  list: z.object({ trusted_issuers: z.array(trustedIssuerView) }),
  deleted: z.object({ id: z.string(), deleted: z.literal(true) }),
};

const grantView = z.object({
  id: z.string(),
  org_id: z.string(),
  subject: z.string(),
  actor_client_id: z.string(),
  scopes: z.array(z.string()),
  audiences: z.array(z.string()),
  status: z.enum(["active", "revoked"]),
  expires_at: time.nullable(),
  created_by: z.string(),
  created_at: time,
  revoked_at: time.nullable(),
});
export const delegationGrantSchemas = {
  create: z.object({
    subject: z.string(),
    actor_client_id: z.string(),
    scopes: list,
    audiences: list,
    expires_at: time.optional(),
  }),
  view: grantView,
  list: z.object({ grants: z.array(grantView), next_cursor: z.string().nullable() }),
};

const inviteView = z.object({
  jti: z.string(),
  org_id: z.string(),
  state: z.enum(["pending", "redeemed", "expired", "withdrawn"]),
  labels: z.record(z.string(), z.string()),
  scopes: z.array(z.string()),
  audiences: z.array(z.string()),
  created_by: z.string().describe("the operator client that created it"),
  created_at: time,
  expires_at: time,
  redeemed_at: time.nullable(),
  client_id: z.string().nullable().describe("the host client its redemption created"),
  dpop_bound_access_tokens: z.boolean().describe("RFC 9449 §5.2: the host's client must present DPoP proofs"),
});
export const inviteSchemas = {
  create: z.object({
    scopes: list,
    audiences: list.optional(),
    labels: z.record(z.string(), z.string()).optional(),
    ttl_seconds: z.number().int().min(60),
    dpop_bound_access_tokens: z
      .boolean()
      .optional()
      .describe("RFC 9449 §5.2: the host's client must present DPoP proofs (default false)"),
  }),
  created: z.object({
    invite: z.string().describe("the invite JWT: a credential until redeemed"),
    jti: z.string(),
    org_id: z.string(),
    expires_at: time,
    scopes: z.array(z.string()),
    audiences: z.array(z.string()),
    labels: z.record(z.string(), z.string()),
    bootstrap_endpoint: z.string(),
    dpop_bound_access_tokens: z.boolean(),
  }),
  /** A stored invite: what it grants and its state, never the invite JWT (which is not stored). */
  view: inviteView,
  list: z.object({ invites: z.array(inviteView), next_cursor: z.string().nullable() }),
  listQuery: {
    state: z.enum(["pending", "redeemed", "expired"]).describe("only invites in this state (default: every state)"),
    limit: z.string().regex(/^\d+$/).describe("newest first, 1 to 500 (default 100)"),
    cursor: z.string().describe("the previous page's next_cursor"),
  },
};

const keyView = z.object({
  kid: z.string(),
  status: z.enum(["next", "current", "previous", "retired"]),
  created_at: time,
  retired_from_signing_at: time.nullable(),
  retires_at: time.nullable(),
});
export const keySchemas = {
  list: z.object({ keys: z.array(keyView) }),
  rotate: z.object({ emergency: z.boolean().optional(), kid: z.string().optional() }),
  rotated: z.object({
    current: z.string(),
    next: z.string().nullable(),
    promoted: z.object({ from: z.string().nullable(), to: z.string() }).nullable(),
    retired: z.array(z.string()),
    created: z.array(z.string()),
  }),
};

// What the admin API may record is what the org's object records: the contract's list, so the two cannot drift.
const revocationKind = z.enum(RECORDABLE_REVOCATION_KINDS);
export const revocationSchemas = {
  create: z.object({
    kind: revocationKind,
    value: z.string().max(256).optional(),
    reason: z.string().max(200).optional(),
  }),
  created: z.object({
    org_id: z.string(),
    seq: z.number().int(),
    kind: revocationKind,
    value: z.string(),
    reason: z.string(),
  }),
  changes: z.union([
    z.object({
      kind: z.literal("changes"),
      version: z.number().int(),
      events: z.array(z.object({}).loose()),
      more: z.boolean(),
    }),
    z.object({ kind: z.literal("resync"), version: z.number().int() }),
  ]),
  after: z
    .string()
    .regex(/^\d{1,15}$/)
    .describe("a seq: the events after it"),
};

const auditEvent = z.object({
  id: z.string(),
  occurred_at: time,
  org_id: z.string().nullable(),
  chain: z.string(),
  seq: z.number().int().nullable(),
  kind: z.string(),
  outcome: z.string(),
  subject: z.string().nullable(),
  actor: z.string().nullable(),
  client_id: z.string().nullable(),
  detail: z.unknown(),
  prev_hash: z.string().nullable(),
  hash: z.string().nullable(),
});
const text = z.string();
export const auditSchemas = {
  query: {
    org: text.describe("a chain: an org id, or platform"),
    subject: text,
    actor: text,
    client: text,
    kind: text.describe("exact, or a prefix ending in .*"),
    outcome: text,
    decision: text,
    from: text.describe("ISO 8601 or epoch ms, inclusive"),
    to: text.describe("ISO 8601 or epoch ms, exclusive"),
    cursor: text,
    limit: z.string().regex(/^\d+$/).describe("1-200, default 50"),
  },
  page: z.object({ events: z.array(auditEvent), next_cursor: z.string().nullable() }),
  verifyQuery: { org: text.describe("required"), cursor: text.describe("seq:hash"), limit: z.string() },
  report: z.object({
    org: z.string(),
    ok: z.boolean(),
    rows_checked: z.number().int(),
    last_seq: z.number().int(),
    last_hash: z.string(),
    complete: z.boolean(),
    next_cursor: z.string().nullable(),
    broken: z
      .object({
        reason: z.string(),
        id: z.string().nullable(),
        seq: z.number().int().nullable(),
        expected_seq: z.number().int(),
        expected_hash: z.string().nullable(),
        found_hash: z.string().nullable(),
      })
      .nullable(),
  }),
};

const policyDocument = z.object({ rules: z.array(z.object({}).loose()) }).loose();
const policySummary = z.object({
  org_id: z.string(),
  version: z.number().int(),
  status: z.string(),
  current: z.boolean(),
  test_count: z.number().int(),
  created_by: z.string(),
  created_at: time,
  published_at: time.nullable(),
});
export const policySchemas = {
  document: z.object({ document: policyDocument, tests: z.array(z.object({}).loose()).optional() }),
  whatIf: z.object({
    request: z.object({}).loose(),
    version: z.number().int().optional(),
    document: policyDocument.optional(),
  }),
  rollback: z.object({ run_tests: z.boolean().optional() }),
  version: policySummary.extend({
    rule_count: z.number().int(),
    document: policyDocument,
    tests: z.array(z.object({}).loose()),
  }),
  list: z.object({
    org_id: z.string(),
    current_version: z.number().int().nullable(),
    versions: z.array(policySummary),
  }),
  validated: z.object({ valid: z.literal(true), rule_count: z.number().int(), test_count: z.number().int() }),
  publication: z
    .object({
      org_id: z.string(),
      version: z.number().int(),
      status: z.literal("published"),
      previous_version: z.number().int().nullable(),
      publish_seq: z.number().int(),
      published_at: time,
    })
    .loose(),
  any: ok,
  listQuery: { limit: z.string(), before: z.string() },
};
