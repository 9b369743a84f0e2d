import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Context } from "hono";
import { generateClientId } from "../../../../shared/crypto/client-id.ts";
import { generateClientSecret, hashSecret } from "../../../../shared/crypto/secret-hash.ts";
import { member } from "../../../../shared/db/auth-schema.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import {
  type ClientChanges,
  deleteClient,
  findOrgClient,
  insertClient,
  listClients,
  updateClient,
} from "../clients/client-store.ts";
import { revokeClientTokens } from "../clients/revoke-client.ts";
import type { StoredClient } from "../clients/types.ts";
import { tokenConfig } from "../config.ts";
import { auditDetail } from "./audit.ts";
import { readJsonObject, readOptionalJsonObject } from "./body.ts";
import { type ClientFields, parseClientChanges, parseClientKeys, parseNewClient } from "./client-body.ts";
import { clientView } from "./client-view.ts";
import { changeClient } from "./client-narrowing.ts";
import { requireOrg } from "./orgs.ts";
import { pageOf, pageQuery, readPage } from "./page.ts";
import type { AdminApp, AdminEnv } from "./types.ts";
import { onlyFields } from "./validate.ts";
import { clientSchemas } from "../openapi/schemas.ts";
import { route } from "./route.ts";

type AdminContext = Context<AdminEnv>;

/** The client a path names, in the org it names, or 404 `not_found`. */
async function requireClient(c: AdminContext, orgId: string): Promise<StoredClient> {
  const clientId = c.req.param("id") ?? "";
  auditDetail(c, { client_id: clientId });
  const client = await findOrgClient(c.env.DB, orgId, clientId);
  if (!client) throw new HttpError("not_found", "no such client in this organization");
  return client;
}

/**
 * Writes a change of the client requireClient found; 404 `not_found` when
 * it was deleted in between (another operator's DELETE, or a retried one):
 * the answer it would have had a moment later, never a 500.
 */
async function changeFoundClient(c: AdminContext, client: StoredClient, changes: ClientChanges): Promise<StoredClient> {
  const changed = await updateClient(c.env.DB, client.clientId, changes);
  if (!changed) throw new HttpError("not_found", "no such client in this organization");
  return changed;
}

/** An owner must be a member of the client's org. */
async function checkOwner(db: D1Database, orgId: string, ownerUserId: string | null | undefined): Promise<void> {
  if (!ownerUserId) return;
  const row = await drizzle(db)
    .select({ id: member.id })
    .from(member)
    .where(and(eq(member.organizationId, orgId), eq(member.userId, ownerUserId)))
    .get();
  if (!row) throw new HttpError("invalid_body", "owner_user_id: not a member of this organization");
}

function waitUntil(c: AdminContext) {
  return (promise: Promise<unknown>) => c.executionCtx.waitUntil(promise);
}

/**
 * An org's clients (machines, agents, services):
 *
 * - POST   /orgs/{org}/clients                  → 201, the client and, for the secret methods, its `client_secret` (once)
 * - GET    /orgs/{org}/clients                  → `{ clients: [...] }`
 * - GET    /orgs/{org}/clients/{id}             → the client
 * - PATCH  /orgs/{org}/clients/{id}             → the client (its tokens revoked when the change narrows what they may hold)
 * - DELETE /orgs/{org}/clients/{id}             → `{ client_id, deleted: true }`, its tokens revoked first
 * - POST   /orgs/{org}/clients/{id}/rotate-secret → a new `client_secret` (once), or `{ jwks | jwks_uri }` replacing a private_key_jwt client's keys; its tokens revoked
 * - POST   /orgs/{org}/clients/{id}/disable     → the client, disabled, its tokens revoked
 *
 * Fields: admin/client-body.ts. Every revocation is recorded (in the org's
 * Durable Object) before the answer reports success.
 */
export function clientRoutes(admin: AdminApp): void {
  route(
    admin,
    "post",
    "/orgs/:org/clients",
    {
      summary: "Register a client; the answer holds its secret once",
      body: clientSchemas.create,
      response: clientSchemas.view,
      status: 201,
      orgAdmins: "org",
    },
    async (c) => {
      const orgId = await requireOrg(c);
      const fields = await parseNewClient(await readJsonObject(c), tokenConfig(c.env));
      await checkOwner(c.env.DB, orgId, fields.ownerUserId);
      const secret = fields.authMethod === "private_key_jwt" ? undefined : generateClientSecret();
      const client = await insertClient(c.env.DB, {
        clientId: generateClientId(),
        orgId,
        name: fields.name,
        kind: fields.kind,
        ownerUserId: fields.ownerUserId,
        authMethod: fields.authMethod,
        secretHash: secret === undefined ? null : await hashSecret(secret),
        jwks: fields.keys.jwks,
        jwksUri: fields.keys.jwksUri,
        grantTypes: fields.grantTypes,
        scopes: fields.scopes,
        audiences: fields.audiences,
        maxTtlSeconds: fields.maxTtlSeconds,
        requireDpop: fields.requireDpop,
        resourceServer: fields.resourceServer,
        status: fields.status,
      });
      auditDetail(c, { action: "client.create", client_id: client.clientId });
      return c.json(clientView(client, secret), 201);
    },
  );

  route(
    admin,
    "get",
    "/orgs/:org/clients",
    {
      summary: "List an organization's clients, oldest first, a page at a time",
      query: pageQuery,
      response: clientSchemas.list,
      orgAdmins: "org",
    },
    async (c) => {
      const orgId = await requireOrg(c);
      const page = readPage(c);
      auditDetail(c, { action: "client.list" });
      const { items, next_cursor } = pageOf(await listClients(c.env.DB, orgId, page), page.limit, (client) => ({
        createdAt: client.createdAt.getTime(),
        id: client.clientId,
      }));
      return c.json({ clients: items.map((client) => clientView(client)), next_cursor });
    },
  );

  route(
    admin,
    "get",
    "/orgs/:org/clients/:id",
    { summary: "Read a client", response: clientSchemas.view, orgAdmins: "org" },
    async (c) => {
      const client = await requireClient(c, await requireOrg(c));
      auditDetail(c, { action: "client.read" });
      return c.json(clientView(client));
    },
  );

  route(
    admin,
    "patch",
    "/orgs/:org/clients/:id",
    {
      summary: "Change a client (its tokens are revoked when the change narrows them)",
      body: clientSchemas.update,
      response: clientSchemas.view,
      orgAdmins: "org",
    },
    async (c) => {
      const orgId = await requireOrg(c);
      const before = await requireClient(c, orgId);
      const changes = parseClientChanges(await readJsonObject(c), tokenConfig(c.env));
      await checkOwner(c.env.DB, orgId, changes.ownerUserId);
      auditDetail(c, {
        action: "client.update",
        fields: Object.keys(changes).filter((k) => changes[k as keyof ClientFields] !== undefined),
      });
      // The change and, when it narrows, its cut-off (admin/client-narrowing.ts).
      const after = await changeClient(c.env, before, changes, waitUntil(c));
      return c.json(clientView(after));
    },
  );

  route(
    admin,
    "delete",
    "/orgs/:org/clients/:id",
    { summary: "Delete a client, its tokens revoked first", response: clientSchemas.deleted, orgAdmins: "org" },
    async (c) => {
      const client = await requireClient(c, await requireOrg(c));
      auditDetail(c, { action: "client.delete" });
      // Disabled first (no new token after the cutoff), revoked, then gone: if
      // the revocation fails, the row is still there for the retry.
      await changeFoundClient(c, client, { status: "disabled" });
      await revokeClientTokens(c.env, client, "client deleted", waitUntil(c));
      await deleteClient(c.env.DB, client.clientId);
      return c.json({ client_id: client.clientId, deleted: true });
    },
  );

  route(
    admin,
    "post",
    "/orgs/:org/clients/:id/rotate-secret",
    {
      summary: "Rotate a client's credentials (a new secret, shown once, or new keys); its tokens are revoked",
      body: clientSchemas.rotate,
      bodyOptional: true,
      response: clientSchemas.view,
      orgAdmins: "org",
    },
    async (c) => {
      const client = await requireClient(c, await requireOrg(c));
      auditDetail(c, { action: "client.rotate" });
      let secret: string | undefined;
      let changed: StoredClient;
      if (client.authMethod === "private_key_jwt") {
        const body = await readJsonObject(c);
        onlyFields(body, ["jwks", "jwks_uri"]);
        const keys = await parseClientKeys(body, "private_key_jwt", tokenConfig(c.env).issuer);
        changed = await changeFoundClient(c, client, { jwks: keys.jwks, jwksUri: keys.jwksUri });
      } else {
        // A secret is made, never given: keys sent for a secret client are a mistake to say, not to ignore
        // (the secret would be rotated, and the tokens revoked, for a call that asked for something else).
        const body = await readOptionalJsonObject(c);
        if (body.jwks !== undefined || body.jwks_uri !== undefined) {
          throw new HttpError(
            "invalid_body",
            `jwks: only for private_key_jwt clients; this one uses ${client.authMethod}`,
          );
        }
        onlyFields(body, []);
        secret = generateClientSecret();
        changed = await changeFoundClient(c, client, { secretHash: await hashSecret(secret) });
      }
      // A rotation usually answers a suspected leak: what the old credential
      // minted goes with it.
      await revokeClientTokens(c.env, client, "credentials rotated", waitUntil(c));
      return c.json(clientView(changed, secret));
    },
  );

  route(
    admin,
    "post",
    "/orgs/:org/clients/:id/disable",
    { summary: "Disable a client and revoke its tokens", response: clientSchemas.view, orgAdmins: "org" },
    async (c) => {
      const client = await requireClient(c, await requireOrg(c));
      auditDetail(c, { action: "client.disable" });
      const disabled = await changeFoundClient(c, client, { status: "disabled" });
      await revokeClientTokens(c.env, client, "client disabled", waitUntil(c));
      return c.json(clientView(disabled));
    },
  );
}
