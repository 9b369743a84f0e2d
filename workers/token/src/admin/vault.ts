import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { member } from "../../../../shared/db/schema.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import { isPermittedOutboundUrl } from "../../../../shared/http/outbound-url.ts";
import { tokenConfig } from "../config.ts";
import { startConnect } from "../vault/connect-flow.ts";
import { createConnectLink } from "../vault/connect-link.ts";
import {
  createProvider,
  deleteProvider,
  getProvider,
  listProviders,
  type ProviderFields,
  providerView,
  updateProvider,
} from "../vault/providers.ts";
import { revokeAllAtProvider } from "../vault/revoke-upstream.ts";
import { vaultSecret } from "../vault/vault-key.ts";
import { auditDetail } from "./audit.ts";
import { readJsonObject } from "./body.ts";
import { requireOrg } from "./orgs.ts";
import { route } from "./route.ts";
import type { AdminApp } from "./types.ts";
import { vaultConnectLinkRoutes } from "./vault-connect-links.ts";
import { CLIENT_ID, vaultConnectionRoutes } from "./vault-connections.ts";
import { vaultSchemas } from "./vault-schemas.ts";
import { type Body, onlyFields, optionalList, optionalString, requiredString, type StringRule } from "./validate.ts";

const NAME: StringRule = {
  max: 64,
  pattern: /^[a-z0-9][a-z0-9._-]*$/,
  patternText: "lowercase letters, digits, '.', '_' and '-', starting with a letter or digit",
};
const RESOURCE: StringRule = { max: 2048, pattern: /^\S+$/, patternText: "no spaces" };
/**
 * RFC 6749 §3.1, §3.2, RFC 7009 §2: endpoints we call as a client (the
 * callback POSTs the provider's client secret to the token endpoint, a
 * connection's delete to the revocation endpoint): https, no credentials or
 * fragment, no internal host (shared/http/outbound-url.ts).
 */
function endpointUrl(issuer: string): StringRule {
  return {
    max: 2048,
    check: (value) => isPermittedOutboundUrl(value, issuer) && isHostName(new URL(value).hostname),
    patternText:
      "must be an https URL without credentials or fragment, whose host is a DNS name or an IP address, not a loopback, private, link-local or internal host",
  };
}

/**
 * A host we can reach: DNS labels (RFC 1123 §2.1, `_` as some names carry it) or an IP literal. The
 * WHATWG parser also keeps RFC 3986 sub-delims (`*`, `;`, `,`, `'`) in a host, and the authorization
 * endpoint's origin is written into the connect-link page's CSP form-action (console/vault-confirm.tsx),
 * where `https://*.com` is a wildcard and `;` or `,` end a directive or a policy.
 */
function isHostName(hostname: string): boolean {
  return /^[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$/i.test(hostname) || /^\[[0-9a-f:.]+\]$/i.test(hostname);
}
const CLIENT_SECRET: StringRule = { max: 1024 };
const SCOPES = { maxItems: 64, itemMax: 256 };
const PROVIDER_FIELDS = [
  "name",
  "resource",
  "authorization_endpoint",
  "token_endpoint",
  "revocation_endpoint",
  "client_id",
  "client_secret",
  "scopes",
] as const;
/** Most providers one org may configure. */
const MAX_PROVIDERS = 64;

function providerPatch(body: Body, issuer: string): Partial<ProviderFields> {
  const patch: Partial<ProviderFields> = {};
  const name = optionalString(body, "name", NAME);
  if (name !== undefined) patch.name = name;
  const resource = optionalString(body, "resource", RESOURCE);
  if (resource !== undefined) patch.resource = resource;
  const authorization = optionalString(body, "authorization_endpoint", endpointUrl(issuer));
  if (authorization !== undefined) patch.authorizationEndpoint = authorization;
  const token = optionalString(body, "token_endpoint", endpointUrl(issuer));
  if (token !== undefined) patch.tokenEndpoint = token;
  // null removes the revocation endpoint; absent leaves it.
  if (body.revocation_endpoint === null) patch.revocationEndpoint = null;
  else {
    const revocation = optionalString(body, "revocation_endpoint", endpointUrl(issuer));
    if (revocation !== undefined) patch.revocationEndpoint = revocation;
  }
  const clientId = optionalString(body, "client_id", CLIENT_ID);
  if (clientId !== undefined) patch.clientId = clientId;
  // null removes the secret (a public client); absent leaves it.
  if (body.client_secret === null) patch.clientSecret = null;
  else {
    const secret = optionalString(body, "client_secret", CLIENT_SECRET);
    if (secret !== undefined) patch.clientSecret = secret;
  }
  const scopes = optionalList(body, "scopes", SCOPES);
  if (scopes !== undefined) patch.scopes = scopes ?? [];
  return patch;
}

/**
 * The sealed client secret goes wherever the token endpoint is (the next
 * connection's code exchange POSTs it there, RFC 6749 §2.3.1): a PATCH that
 * moves the endpoint must give the secret again (or null, a public client),
 * or whoever may edit the provider could point it at their own host and
 * collect a secret nobody ever shows them. 400 `invalid_body` otherwise.
 */
async function refuseSecretMove(
  c: Parameters<typeof requireOrg>[0],
  orgId: string,
  id: string,
  patch: Partial<ProviderFields>,
): Promise<void> {
  if (patch.tokenEndpoint === undefined || patch.clientSecret !== undefined) return;
  const current = await getProvider(c.env.DB, orgId, id);
  if (current && current.tokenEndpoint !== patch.tokenEndpoint && current.clientSecretSealed !== null) {
    throw new HttpError(
      "invalid_body",
      "client_secret: give it again (or null for a public client) when token_endpoint changes: the secret is sent there",
    );
  }
}

async function requireProvider(c: Parameters<typeof requireOrg>[0], orgId: string) {
  const id = c.req.param("id") ?? "";
  auditDetail(c, { provider_id: id });
  const row = await getProvider(c.env.DB, orgId, id);
  if (!row) throw new HttpError("not_found", "no such vault provider in this organization");
  return row;
}

/**
 * The saved-token vault's operator surface (workers/token/src/vault/):
 *
 * Providers (the upstream authorization servers the org connects to, with
 * the client registration we use there; the client secret is sealed and
 * never shown, only `has_client_secret`):
 * - POST   /orgs/{org}/vault/providers        `{ name, resource, authorization_endpoint, token_endpoint, revocation_endpoint?, client_id, client_secret?, scopes? }` → 201
 * - GET    /orgs/{org}/vault/providers        → `{ providers: [...] }`
 * - GET    /orgs/{org}/vault/providers/{id}
 * - PATCH  /orgs/{org}/vault/providers/{id}   any of the fields (`client_secret: null`, `revocation_endpoint: null` remove them)
 * - DELETE /orgs/{org}/vault/providers/{id}   → `{ id, deleted: true, connections_deleted, provider_revocation: { revoked, not_supported, failed } }`:
 *   each connection's tokens revoked at the provider after the delete, as a connection's delete does
 * - POST   /orgs/{org}/vault/providers/{id}/connect `{ owner?: "org" | <user id> }` → 201, for the org's own
 *   connection or a member's: from the console `{ authorization_url, expires_at }` (state bound to the
 *   admin's session); from an operator client `{ confirmation_url, expires_at }`, a single-use link an
 *   admin of the org confirms in the browser (the connect-links routes, vault-connect-links.ts)
 *
 * Saved connections (metadata only):
 * - GET    /orgs/{org}/vault/connections      → `{ connections: [...] }`
 * - GET    /orgs/{org}/vault/connections/{id}
 * - DELETE /orgs/{org}/vault/connections/{id} → `{ id, deleted: true, provider_revocation }`: deleted here,
 *   then its tokens revoked at the provider's revocation endpoint, best effort (`revoked`, `not_supported`, `failed`)
 * - POST   /orgs/{org}/vault/connections/{id}/agents `{ client_id }` bind an agent (default deny)
 * - DELETE /orgs/{org}/vault/connections/{id}/agents/{client_id}
 * - anything below /orgs/{org}/vault/connections/{id}/token: 403 `saved_token_not_readable`, for everyone
 *
 * (the connections' routes are in vault-connections.ts)
 */
export function vaultRoutes(admin: AdminApp): void {
  route(
    admin,
    "post",
    "/orgs/:org/vault/providers",
    {
      summary: "Configure a provider the org connects saved tokens from",
      body: vaultSchemas.providerCreate,
      response: vaultSchemas.provider,
      status: 201,
      orgAdmins: "org",
    },
    async (c) => {
      const orgId = await requireOrg(c);
      const body = await readJsonObject(c);
      onlyFields(body, PROVIDER_FIELDS);
      const fields: ProviderFields = {
        name: requiredString(body, "name", NAME),
        resource: requiredString(body, "resource", RESOURCE),
        authorizationEndpoint: requiredString(body, "authorization_endpoint", endpointUrl(tokenConfig(c.env).issuer)),
        tokenEndpoint: requiredString(body, "token_endpoint", endpointUrl(tokenConfig(c.env).issuer)),
        revocationEndpoint: optionalString(body, "revocation_endpoint", endpointUrl(tokenConfig(c.env).issuer)) ?? null,
        clientId: requiredString(body, "client_id", CLIENT_ID),
        clientSecret: optionalString(body, "client_secret", CLIENT_SECRET) ?? null,
        scopes: optionalList(body, "scopes", SCOPES) ?? [],
      };
      if ((await listProviders(c.env.DB, orgId)).length >= MAX_PROVIDERS)
        throw new HttpError("conflict", `an organization has at most ${MAX_PROVIDERS} vault providers`);
      const row = await createProvider(c.env.DB, vaultSecret(c.env), orgId, fields);
      if (!row) throw new HttpError("conflict", "a vault provider of this name exists in the organization");
      auditDetail(c, { action: "vault_provider.create", provider_id: row.id, name: row.name, resource: row.resource });
      return c.json(providerView(row), 201);
    },
  );

  route(
    admin,
    "get",
    "/orgs/:org/vault/providers",
    { summary: "List the org's vault providers", response: vaultSchemas.providerList, orgAdmins: "org" },
    async (c) => {
      const orgId = await requireOrg(c);
      auditDetail(c, { action: "vault_provider.list" });
      return c.json({ providers: (await listProviders(c.env.DB, orgId)).map(providerView) });
    },
  );

  route(
    admin,
    "get",
    "/orgs/:org/vault/providers/:id",
    { summary: "Show a vault provider (never its client secret)", response: vaultSchemas.provider, orgAdmins: "org" },
    async (c) => {
      const orgId = await requireOrg(c);
      auditDetail(c, { action: "vault_provider.show" });
      return c.json(providerView(await requireProvider(c, orgId)));
    },
  );

  route(
    admin,
    "patch",
    "/orgs/:org/vault/providers/:id",
    {
      summary: "Change a vault provider",
      body: vaultSchemas.providerPatch,
      response: vaultSchemas.provider,
      orgAdmins: "org",
    },
    async (c) => {
      const orgId = await requireOrg(c);
      const id = c.req.param("id");
      auditDetail(c, { action: "vault_provider.update", provider_id: id });
      const body = await readJsonObject(c);
      onlyFields(body, PROVIDER_FIELDS);
      const patch = providerPatch(body, tokenConfig(c.env).issuer);
      await refuseSecretMove(c, orgId, id, patch);
      let row: Awaited<ReturnType<typeof updateProvider>>;
      try {
        row = await updateProvider(c.env.DB, vaultSecret(c.env), orgId, id, patch);
      } catch (error) {
        // The (org, name) unique index: another provider has the new name.
        if (patch.name !== undefined && String(error).includes("UNIQUE"))
          throw new HttpError("conflict", "a vault provider of this name exists in the organization");
        throw error;
      }
      if (!row) throw new HttpError("not_found", "no such vault provider in this organization");
      return c.json(providerView(row));
    },
  );

  route(
    admin,
    "delete",
    "/orgs/:org/vault/providers/:id",
    {
      summary: "Delete a vault provider and every connection made through it",
      response: vaultSchemas.providerDeleted,
      orgAdmins: "org",
    },
    async (c) => {
      const orgId = await requireOrg(c);
      const id = c.req.param("id");
      auditDetail(c, { action: "vault_provider.delete", provider_id: id });
      const deleted = await deleteProvider(c.env.DB, orgId, id);
      if (deleted === null) throw new HttpError("not_found", "no such vault provider in this organization");
      // As a connection's delete: gone here first, then each one's tokens revoked at the provider.
      const revocation = await revokeAllAtProvider(c.env.DB, vaultSecret(c.env), deleted.provider, deleted.connections);
      auditDetail(c, {
        connections_revoked: revocation.revoked,
        connections_revocation_failed: revocation.failed,
      });
      return c.json({
        id,
        deleted: true,
        connections_deleted: deleted.connections.length,
        provider_revocation: revocation,
      });
    },
  );

  route(
    admin,
    "post",
    "/orgs/:org/vault/providers/:id/connect",
    {
      summary:
        "Start a connection flow (PKCE S256; from the console bound to the admin's session; from an operator client a link an admin confirms)",
      body: vaultSchemas.connect,
      response: vaultSchemas.connectStarted,
      status: 201,
      orgAdmins: "org",
    },
    async (c) => {
      const orgId = await requireOrg(c);
      const provider = await requireProvider(c, orgId);
      const body = await readJsonObject(c);
      onlyFields(body, ["owner"]);
      const owner = optionalString(body, "owner", { max: 128 }) ?? "org";
      if (owner !== "org") {
        const isMember = await drizzle(c.env.DB)
          .select({ id: member.id })
          .from(member)
          .where(and(eq(member.organizationId, orgId), eq(member.userId, owner)))
          .get();
        if (!isMember) throw new HttpError("invalid_body", 'owner: must be "org" or a member\'s user id');
      }
      const operator = c.get("operator");
      const ownerKind = owner === "org" ? "org" : "user";
      const ownerId = owner === "org" ? orgId : owner;
      if (!operator.sessionId) {
        // An operator client has no browser session to bind the flow to, and a state alone lets
        // whoever opens the link connect their account (one they already approved at the provider
        // passes with no consent screen) into the org. So it starts nothing at the provider: a
        // single-use link to our confirmation page, where a signed-in admin of the org binds the
        // flow to their session (admin/vault-connect-links.ts).
        const link = await createConnectLink(c.env.DB, tokenConfig(c.env).issuer, {
          orgId,
          providerId: provider.id,
          ownerKind,
          ownerId,
          startedBy: `operator:${operator.clientId}`,
        });
        auditDetail(c, { action: "vault_connection.link", owner_kind: ownerKind });
        return c.json({ confirmation_url: link.confirmationUrl, expires_at: link.expiresAt.toISOString() }, 201);
      }
      const started = await startConnect(c.env.DB, vaultSecret(c.env), tokenConfig(c.env).issuer, {
        provider,
        ownerKind,
        ownerId,
        // From the console the person's own session finishes the flow
        // (RFC 6749 §10.12): every console user shares one client id, so
        // binding to it would let anyone holding the link connect their
        // account into this org.
        binding: { session: operator.sessionId },
      });
      auditDetail(c, { action: "vault_connection.start", owner_kind: ownerKind });
      return c.json({ authorization_url: started.authorizationUrl, expires_at: started.expiresAt.toISOString() }, 201);
    },
  );

  vaultConnectionRoutes(admin);
  vaultConnectLinkRoutes(admin);
}
