import {
  MCP_SERVER_STATUS,
  MCP_TOOL_NAME,
  MCP_TOOL_SENSITIVITY,
  MCP_UPSTREAM_BINDINGS,
  type McpTool,
  type McpUpstream,
  type McpUpstreamBinding,
} from "../../../../shared/contracts/mcp.ts";
import { ALL_SCOPES } from "../../../../shared/contracts/scopes.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import { publicHttpsUrl } from "./public-url.ts";
import { type Body, oneOf, optionalList, optionalString, requiredString } from "../admin/validate.ts";
import type { McpServerFields } from "./registry.ts";

export type { McpServerFields };

export const MAX_TOOLS = 64;

/**
 * An MCP server's registration body (admin/mcp-servers.ts): `upstream` is an
 * https URL or `{ "binding": "<name>" }`; `scopes` the issuer's scopes the
 * server understands (its tokens can carry no other); `tools` its tools with
 * their sensitivity; `saved_connection` a vault provider whose saved token
 * the gateway sends the server instead of the agent's (docs/vault.md).
 * `current` fills what an update leaves out.
 */
export function readServerFields(body: Body, current?: McpServerFields): McpServerFields {
  const upstream = body.upstream === undefined && current ? current.upstream : readUpstream(body.upstream);
  const scopes =
    optionalList(body, "scopes", { allowed: ALL_SCOPES, maxItems: 32, itemMax: 128 }) ?? current?.scopes ?? [];
  const tools = body.tools === undefined && current ? current.tools : readTools(body.tools);
  const description = optionalString(body, "description", { max: 1024 }) ?? current?.description ?? "";
  const owner = current
    ? (optionalString(body, "owner", { max: 256 }) ?? current.owner)
    : requiredString(body, "owner", { max: 256 });
  const status = oneOf(body, "status", MCP_SERVER_STATUS, current?.status ?? "active");
  // A vault provider's id or name as written (admin/mcp-servers.ts resolves it in the org); null removes it.
  const savedConnectionProvider =
    body.saved_connection === null
      ? null
      : (optionalString(body, "saved_connection", { max: 128 }) ?? current?.savedConnectionProvider ?? null);
  return { upstream, scopes, tools, description, owner, status, savedConnectionProvider };
}

function invalid(field: string, problem: string): never {
  throw new HttpError("invalid_body", `${field}: ${problem}`);
}

function readUpstream(value: unknown): McpUpstream {
  if (typeof value === "string") return { url: publicHttpsUrl("upstream", value) };
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const { binding, ...rest } = value as Record<string, unknown>;
    if (Object.keys(rest).length === 0 && (MCP_UPSTREAM_BINDINGS as readonly unknown[]).includes(binding)) {
      return { binding: binding as McpUpstreamBinding };
    }
    invalid("upstream", `a binding must be one of ${MCP_UPSTREAM_BINDINGS.join(", ")}`);
  }
  invalid("upstream", 'required: an https URL or { "binding": "<name>" }');
}

function readTools(value: unknown): McpTool[] {
  if (!Array.isArray(value)) invalid("tools", 'required: an array of { "name", "sensitivity" }');
  if (value.length > MAX_TOOLS) invalid("tools", `at most ${MAX_TOOLS} tools`);
  const seen = new Set<string>();
  return value.map((item, i) => {
    if (typeof item !== "object" || item === null || Array.isArray(item)) invalid(`tools[${i}]`, "must be an object");
    const { name, sensitivity, ...rest } = item as Record<string, unknown>;
    if (Object.keys(rest).length > 0) invalid(`tools[${i}]`, `unknown field ${Object.keys(rest)[0]}`);
    if (typeof name !== "string" || !MCP_TOOL_NAME.test(name))
      invalid(`tools[${i}].name`, "1-128 of A-Z a-z 0-9 _ . -");
    if (seen.has(name)) invalid(`tools[${i}].name`, `${name} is listed twice`);
    seen.add(name);
    const level = sensitivity ?? "normal";
    if (!(MCP_TOOL_SENSITIVITY as readonly unknown[]).includes(level)) {
      invalid(`tools[${i}].sensitivity`, `must be one of ${MCP_TOOL_SENSITIVITY.join(", ")}`);
    }
    return { name, sensitivity: level as McpTool["sensitivity"] };
  });
}
