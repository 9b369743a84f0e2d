import { HttpError } from "../../../../shared/errors/http.ts";
import {
  agentsOf,
  bindAgent,
  connectionView,
  deleteConnection,
  getConnection,
  listConnections,
  unbindAgent,
} from "../vault/connections.ts";
import { getProvider } from "../vault/providers.ts";
import { revokeAtProvider } from "../vault/revoke-upstream.ts";
import { vaultSecret } from "../vault/vault-key.ts";
import { auditDetail } from "./audit.ts";
import { readJsonObject } from "./body.ts";
import { requireOrg } from "./orgs.ts";
import { pageOf, pageQuery, readPage } from "./page.ts";
import { route } from "./route.ts";
import type { AdminApp } from "./types.ts";
import { vaultSchemas } from "./vault-schemas.ts";
import { onlyFields, requiredString, type StringRule } from "./validate.ts";

/** A client id, ours at a provider or an agent's of the org. */
export const CLIENT_ID: StringRule = { max: 512, pattern: /^[\x21-\x7e]+$/, patternText: "printable ASCII, no spaces" };

function notReadable(): never {
  throw new HttpError("saved_token_not_readable", "saved tokens are never given out; the gateway uses them");
}

/** The saved connections' routes of the vault's operator surface (listed in vault.ts): metadata only. */
export function vaultConnectionRoutes(admin: AdminApp): void {
  route(
    admin,
    "get",
    "/orgs/:org/vault/connections",
    {
      summary: "List the org's saved connections (metadata only), oldest first, a page at a time",
      query: pageQuery,
      response: vaultSchemas.connectionList,
      orgAdmins: "org",
    },
    async (c) => {
      const orgId = await requireOrg(c);
      const page = readPage(c);
      auditDetail(c, { action: "vault_connection.list" });
      const { items, next_cursor } = pageOf(await listConnections(c.env.DB, orgId, page), page.limit, (view) => ({
        createdAt: Date.parse(view.created_at),
        id: view.id,
      }));
      return c.json({ connections: items, next_cursor });
    },
  );

  // No API reveals a saved token, to anyone: the route exists only to say so.
  route(
    admin,
    "get",
    "/orgs/:org/vault/connections/:id/token",
    { summary: "Always refused: 403 saved_token_not_readable", orgAdmins: "org" },
    () => notReadable(),
  );

  route(
    admin,
    "get",
    "/orgs/:org/vault/connections/:id",
    { summary: "Show a saved connection (metadata only)", response: vaultSchemas.connection, orgAdmins: "org" },
    async (c) => {
      const orgId = await requireOrg(c);
      const id = c.req.param("id");
      auditDetail(c, { action: "vault_connection.show", connection_id: id });
      const row = await getConnection(c.env.DB, orgId, id);
      if (!row) throw new HttpError("not_found", "no such saved connection in this organization");
      return c.json(connectionView(row, await agentsOf(c.env.DB, id)));
    },
  );

  route(
    admin,
    "delete",
    "/orgs/:org/vault/connections/:id",
    {
      summary: "Delete a saved connection, then revoke its tokens at the provider (best effort)",
      response: vaultSchemas.connectionDeleted,
      orgAdmins: "org",
    },
    async (c) => {
      const orgId = await requireOrg(c);
      const id = c.req.param("id");
      auditDetail(c, { action: "vault_connection.delete", connection_id: id });
      const row = await deleteConnection(c.env.DB, orgId, id);
      if (!row) throw new HttpError("not_found", "no such saved connection in this organization");
      // Deleted here first, whatever the provider does: then its tokens are revoked there too (RFC 7009),
      // so they do not outlive the delete at a provider that is up, and the answer says when it was not.
      const provider = await getProvider(c.env.DB, orgId, row.providerId);
      const revocation = await revokeAtProvider(c.env.DB, vaultSecret(c.env), provider, row);
      auditDetail(c, {
        provider_revocation: revocation.outcome,
        ...(revocation.outcome === "failed" ? { provider_revocation_cause: revocation.cause } : {}),
      });
      return c.json({ id, deleted: true, provider_revocation: revocation.outcome });
    },
  );

  route(
    admin,
    "post",
    "/orgs/:org/vault/connections/:id/agents",
    {
      summary: "Let an agent (a client of the org) use the connection",
      body: vaultSchemas.bind,
      response: vaultSchemas.binding,
      orgAdmins: "org",
    },
    async (c) => {
      const orgId = await requireOrg(c);
      const id = c.req.param("id");
      const body = await readJsonObject(c);
      onlyFields(body, ["client_id"]);
      const clientId = requiredString(body, "client_id", CLIENT_ID);
      auditDetail(c, { action: "vault_connection.bind_agent", connection_id: id, agent_client_id: clientId });
      const outcome = await bindAgent(c.env.DB, orgId, id, clientId, c.get("operator").subject);
      if (outcome === "no_connection")
        throw new HttpError("not_found", "no such saved connection in this organization");
      if (outcome === "no_client") throw new HttpError("not_found", "no such client in this organization");
      return c.json({ connection_id: id, client_id: clientId, bound: true });
    },
  );

  route(
    admin,
    "delete",
    "/orgs/:org/vault/connections/:id/agents/:client",
    { summary: "Stop an agent using the connection", response: vaultSchemas.binding, orgAdmins: "org" },
    async (c) => {
      const orgId = await requireOrg(c);
      const id = c.req.param("id");
      const clientId = c.req.param("client");
      auditDetail(c, { action: "vault_connection.unbind_agent", connection_id: id, agent_client_id: clientId });
      if (!(await unbindAgent(c.env.DB, orgId, id, clientId)))
        throw new HttpError("not_found", "this agent is not bound to the connection");
      return c.json({ connection_id: id, client_id: clientId, bound: false });
    },
  );
}
