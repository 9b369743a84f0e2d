import { z } from "zod";

/**
 * The vault's admin API shapes for the OpenAPI document (admin/vault.ts
 * registers them with its routes). Tokens and client secrets appear in no
 * answer: only `has_client_secret` and `has_refresh_token`.
 */
const time = z.iso.datetime().describe("ISO 8601");
const list = z.union([z.array(z.string()), z.string()]);

const provider = z.object({
  id: z.string(),
  org_id: z.string(),
  name: z.string(),
  resource: z.string(),
  authorization_endpoint: z.string(),
  token_endpoint: z.string(),
  revocation_endpoint: z.string().nullable(),
  client_id: z.string(),
  has_client_secret: z.boolean(),
  scopes: z.array(z.string()),
  created_at: time,
  updated_at: time,
});
const providerFields = {
  name: z.string().max(64),
  resource: z.string().max(2048),
  authorization_endpoint: z.string().url(),
  token_endpoint: z.string().url(),
  revocation_endpoint: z
    .string()
    .url()
    .describe("RFC 7009; a deleted connection's tokens are revoked there")
    .optional(),
  client_id: z.string().max(512),
  client_secret: z.string().max(1024).optional(),
  scopes: list.optional(),
};
const connection = z.object({
  id: z.string(),
  org_id: z.string(),
  provider_id: z.string(),
  resource: z.string(),
  owner: z.object({ kind: z.enum(["user", "org"]), id: z.string() }),
  token_endpoint: z.string(),
  client_id: z.string(),
  has_refresh_token: z.boolean(),
  expires_at: time.nullable(),
  scopes: z.array(z.string()),
  agents: z.array(z.string()),
  created_by: z.string(),
  created_at: time,
  updated_at: time,
  last_used_at: time.nullable(),
});

export const vaultSchemas = {
  provider,
  providerCreate: z.object(providerFields),
  providerPatch: z
    .object({
      ...providerFields,
      revocation_endpoint: z.string().url().nullable(),
      client_secret: z.string().max(1024).nullable(),
    })
    .partial(),
  providerList: z.object({ providers: z.array(provider) }),
  providerDeleted: z.object({
    id: z.string(),
    deleted: z.literal(true),
    connections_deleted: z.number().int(),
    provider_revocation: z
      .object({ revoked: z.number().int(), not_supported: z.number().int(), failed: z.number().int() })
      .describe(
        "how many deleted connections' tokens the provider revoked (RFC 7009), had no endpoint for, or did not",
      ),
  }),
  connect: z.object({ owner: z.string().describe('"org" (default) or a member\'s user id').optional() }),
  connectStarted: z.union([
    z
      .object({ authorization_url: z.string().url(), expires_at: time })
      .describe("from the console: the person's own flow"),
    z
      .object({ confirmation_url: z.string().url(), expires_at: time })
      .describe("from an operator client: a single-use link an admin of the org confirms in the browser"),
  ]),
  connectLink: z.object({ link: z.string().describe("the `link` query parameter of a confirmation URL") }),
  connectLinkConfirm: z.object({
    link: z.string().describe("the `link` query parameter of a confirmation URL"),
    authorization_origin: z
      .string()
      .optional()
      .describe(
        "the provider's authorization origin the confirming page allowed its form to go on to; 409 conflict, the link kept, when it is not the provider's any more; empty (the page could allow none): 422 provider_endpoint_unsupported, the link kept",
      ),
  }),
  connectLinkView: z.object({
    org: z.object({ id: z.string(), name: z.string() }),
    provider: provider.pick({ id: true, name: true, resource: true, authorization_endpoint: true, scopes: true }),
    owner: z.object({ kind: z.enum(["user", "org"]), id: z.string() }),
    started_by: z.string().describe("`operator:<client_id>`"),
    expires_at: time,
  }),
  connectConfirmed: z.object({ authorization_url: z.string().url(), expires_at: time }),
  connection,
  connectionList: z.object({ connections: z.array(connection), next_cursor: z.string().nullable() }),
  connectionDeleted: z.object({
    id: z.string(),
    deleted: z.literal(true),
    provider_revocation: z
      .enum(["revoked", "not_supported", "failed"])
      .describe("RFC 7009 at the provider, after the delete: failed means its tokens may still be live there"),
  }),
  bind: z.object({ client_id: z.string() }),
  binding: z.object({ connection_id: z.string(), client_id: z.string(), bound: z.boolean() }),
};
