import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { MCP_SERVER_NAME, mcpServerPath, upstreamServesResource } from "../../../../shared/contracts/mcp.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import { tokenConfig } from "../config.ts";
import {
  createMcpServer,
  deleteMcpServer,
  findMcpServer,
  listMcpServers,
  type McpServer,
  updateMcpServerIfUnchanged,
} from "../mcp/registry.ts";
import { revokeServerGrants } from "../mcp/review.ts";
import { type McpServerFields, readServerFields } from "../mcp/server-body.ts";
import { getProvider, getProviderByName } from "../vault/providers.ts";
import { auditDetail } from "./audit.ts";
import { readJsonObject } from "./body.ts";
import { requireOrg } from "./orgs.ts";
import { route } from "./route.ts";
import type { AdminApp } from "./types.ts";
import { onlyFields, requiredString } from "./validate.ts";

const PATH = "/orgs/:org/mcp-servers";
const FIELDS = ["upstream", "scopes", "tools", "description", "owner", "status", "saved_connection"] as const;
/** Writes of a PATCH that found the row changed under them before it is refused 409: each one re-reads it. */
const MAX_WRITE_ATTEMPTS = 3;

/** A server as the admin API (and the console) shows it: snake_case, ISO 8601 times. */
export interface McpServerView {
  id: string;
  org_id: string;
  name: string;
  /** `<issuer>/mcp/<name>`: where agents connect, and the audience of their tokens. */
  resource: string;
  /** RFC 9728 metadata of the route. */
  resource_metadata: string;
  upstream: string | { binding: string };
  scopes: string[];
  tools: { name: string; sensitivity: string }[];
  description: string;
  owner: string;
  status: string;
  /** The vault provider (its id) whose saved token the gateway sends the server; null: none. */
  saved_connection: string | null;
  built_in: boolean;
  created_at: string | null;
  updated_at: string | null;
}

/**
 * `saved_connection` as written (a vault provider's id or name) → the id of
 * that provider of this org; a provider of another org is no provider.
 */
async function withProvider(
  db: D1Database,
  orgId: string,
  fields: McpServerFields,
  written: boolean,
): Promise<McpServerFields> {
  const ref = fields.savedConnectionProvider;
  if (ref === null) return fields;
  const provider = written
    ? ((await getProvider(db, orgId, ref)) ?? (await getProviderByName(db, orgId, ref)))
    : await getProvider(db, orgId, ref);
  if (!provider) {
    // A provider deleted since: the gateway finds no connection for it and sends nothing.
    if (!written) return fields;
    throw new HttpError("invalid_body", "saved_connection: no such vault provider in this organization");
  }
  // The gateway sends the saved token only at the provider's resource (RFC 8707 §2); say so when it is stored.
  if ("url" in fields.upstream && !upstreamServesResource(fields.upstream.url, provider.resource)) {
    throw new HttpError(
      "invalid_body",
      `ERR_SAVED_CONNECTION_ELSEWHERE: saved_connection: the provider's tokens are for ${provider.resource}, not at the upstream's origin`,
    );
  }
  return { ...fields, savedConnectionProvider: provider.id };
}

export function serverView(server: McpServer, issuer: string): McpServerView {
  return {
    id: server.id,
    org_id: server.orgId,
    name: server.name,
    resource: server.resource,
    resource_metadata: `${issuer}${ENDPOINT.protectedResourceMetadata}${mcpServerPath(server.name)}`,
    upstream: "url" in server.upstream ? server.upstream.url : { binding: server.upstream.binding },
    scopes: server.scopes,
    tools: server.tools,
    description: server.description,
    owner: server.owner,
    status: server.status,
    saved_connection: server.savedConnectionProvider,
    built_in: server.builtIn,
    created_at: server.createdAt?.toISOString() ?? null,
    updated_at: server.updatedAt?.toISOString() ?? null,
  };
}

/**
 * An org's MCP server registry (mcp/registry.ts). Registering a server makes
 * the gateway front it at `/mcp/<name>` (workers/gateway/src/mcp/).
 *
 * - POST `{ name, upstream, scopes?, tools, description?, owner, status?, saved_connection? }`
 *   → 201 the server; 400 `invalid_body` naming the field (`saved_connection`:
 *   no vault provider of the org by that id or name); 409 `conflict`
 *   `ERR_MCP_SERVER_EXISTS` (the org has that name) or
 *   `ERR_MCP_NAME_RESERVED` (`demo`).
 * - GET → `{ servers: [...] }`, the built-in demo first.
 * - GET `/{name}` → the server; 404 `not_found`.
 * - PATCH `/{name}` with any of the fields → the server; `status:
 *   "disabled"` stops the gateway fronting it. 409 `conflict`
 *   `ERR_MCP_SERVER_BUILTIN` for the demo; 409 `conflict` when the server
 *   changed under the write three times running (nothing of this PATCH
 *   written; a retry merges over the latest row).
 * - DELETE `/{name}` → 200 the removed server; 404, or 409 for the demo.
 */
export function mcpServerRoutes(admin: AdminApp): void {
  route(
    admin,
    "post",
    PATH,
    { summary: "Register an MCP server the gateway fronts at /mcp/<name>", status: 201, orgAdmins: "org" },
    async (c) => {
      const orgId = await requireOrg(c);
      const body = await readJsonObject(c);
      onlyFields(body, ["name", ...FIELDS]);
      const name = requiredString(body, "name", {
        max: 63,
        pattern: MCP_SERVER_NAME,
        patternText: "a lowercase letter, then lowercase letters, digits and -",
      });
      auditDetail(c, { action: "mcp_server.create", mcp_server: name });
      const issuer = tokenConfig(c.env).issuer;
      const fields = await withProvider(c.env.DB, orgId, readServerFields(body), true);
      const server = await createMcpServer(c.env.DB, issuer, orgId, name, fields);
      auditDetail(c, { mcp_server_id: server.id });
      return c.json(serverView(server, issuer), 201);
    },
  );

  route(
    admin,
    "get",
    PATH,
    { summary: "The org's MCP servers, the built-in demo first", orgAdmins: "org" },
    async (c) => {
      const orgId = await requireOrg(c);
      auditDetail(c, { action: "mcp_server.list" });
      const issuer = tokenConfig(c.env).issuer;
      const servers = await listMcpServers(c.env.DB, issuer, orgId);
      return c.json({ servers: servers.map((s) => serverView(s, issuer)) });
    },
  );

  route(admin, "get", `${PATH}/:name`, { summary: "One MCP server of the org", orgAdmins: "org" }, async (c) => {
    const orgId = await requireOrg(c);
    const name = c.req.param("name");
    auditDetail(c, { action: "mcp_server.show", mcp_server: name });
    const issuer = tokenConfig(c.env).issuer;
    const server = await findMcpServer(c.env.DB, issuer, orgId, name);
    if (!server) throw new HttpError("not_found", "no such MCP server in this org");
    return c.json(serverView(server, issuer));
  });

  route(
    admin,
    "patch",
    `${PATH}/:name`,
    { summary: "Change an MCP server (status disabled stops the gateway fronting it)", orgAdmins: "org" },
    async (c) => {
      const orgId = await requireOrg(c);
      const name = c.req.param("name");
      auditDetail(c, { action: "mcp_server.update", mcp_server: name });
      const issuer = tokenConfig(c.env).issuer;
      let current = await findMcpServer(c.env.DB, issuer, orgId, name);
      if (!current) throw new HttpError("not_found", "no such MCP server in this org");
      const body = await readJsonObject(c);
      onlyFields(body, FIELDS);
      // The write carries every field, those the body left out as they were
      // read: it lands only on the row as read, or a concurrent PATCH's
      // fields would be written back to their old values. Otherwise the row
      // is read again and the body merged over it anew.
      for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
        const fields = await withProvider(
          c.env.DB,
          orgId,
          readServerFields(body, current),
          body.saved_connection !== undefined,
        );
        const server = await updateMcpServerIfUnchanged(c.env.DB, current, fields);
        if (server) return c.json(serverView(server, issuer));
        current = await findMcpServer(c.env.DB, issuer, orgId, name);
        if (!current) throw new HttpError("not_found", "no such MCP server in this org");
      }
      throw new HttpError("conflict", "the MCP server kept changing while this change was written; retry");
    },
  );

  route(admin, "delete", `${PATH}/:name`, { summary: "Remove an MCP server", orgAdmins: "org" }, async (c) => {
    const orgId = await requireOrg(c);
    const name = c.req.param("name");
    auditDetail(c, { action: "mcp_server.delete", mcp_server: name });
    const existing = await findMcpServer(c.env.DB, tokenConfig(c.env).issuer, orgId, name);
    if (!existing) throw new HttpError("not_found", "no such MCP server in this org");
    // The demo is refused (409) by deleteMcpServer below, with its grants untouched.
    if (!existing.builtIn)
      await revokeServerGrants(
        { env: c.env, config: tokenConfig(c.env), waitUntil: (promise) => c.executionCtx.waitUntil(promise) },
        orgId,
        name,
        c.get("operator").subject,
      );
    const server = await deleteMcpServer(c.env.DB, orgId, name);
    if (!server) throw new HttpError("not_found", "no such MCP server in this org");
    return c.json(serverView(server, tokenConfig(c.env).issuer));
  });
}
