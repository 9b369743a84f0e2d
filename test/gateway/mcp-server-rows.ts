import { env } from "cloudflare:workers";
import type { McpUpstream } from "../../shared/contracts/mcp.ts";

/**
 * An org's MCP server row, written to the real D1 the token Worker's
 * McpRegistryService reads (as the admin API would store it): scope
 * `documents:read`, a normal and a sensitive tool.
 */
export async function registerMcpServer(orgId: string, name: string, upstream: McpUpstream = { binding: "DEMO" }) {
  const [kind, value] = "binding" in upstream ? ["binding", upstream.binding] : ["url", upstream.url];
  await env.DB.prepare(
    `INSERT INTO mcp_server (id, org_id, name, upstream_kind, upstream, resource, scopes, tools, description, owner, status, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, 'documents:read', ?, 'test', 'ops', 'active', ?, ?)`,
  )
    .bind(
      `mcps_${crypto.randomUUID()}`,
      orgId,
      name,
      kind,
      value,
      `${env.ISSUER}/mcp/${name}`,
      JSON.stringify([
        { name: "list_documents", sensitivity: "normal" },
        { name: "purge_documents", sensitivity: "sensitive" },
      ]),
      Date.now(),
      Date.now(),
    )
    .run();
}

/** A name no test has used. */
export const freshMcpName = (prefix = "crm") => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
