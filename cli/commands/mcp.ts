import { type Command, InvalidArgumentError } from "commander";
import {
  MCP_GRANT_STATUS,
  MCP_TOOL_SENSITIVITY,
  MCP_UPSTREAM_BINDINGS,
  type McpTool,
} from "../../shared/contracts/mcp.ts";
import { AdminApi } from "../lib/admin-api.ts";
import { type CommonOptions, parseScopes, withCommonOptions } from "../lib/options.ts";
import { columnsTable, keyValueTable, printResult } from "../lib/output.ts";
import { registerPagedList } from "../lib/pages.ts";

/** An MCP server as the admin API shows it (workers/token/src/admin/mcp-servers.ts). */
interface McpServer {
  id: string;
  org_id: string;
  name: string;
  resource: string;
  resource_metadata: string;
  upstream: string | { binding: string };
  scopes: string[];
  tools: McpTool[];
  description: string;
  owner: string;
  status: string;
  /** The vault provider (its id) whose saved token the gateway sends the server; null: none. */
  saved_connection: string | null;
  built_in: boolean;
}

/** An MCP grant (an approved access request) as the admin API shows it (workers/token/src/mcp/views.ts). */
interface McpGrant {
  id: string;
  request_id: string | null;
  client_id: string;
  server: string;
  scopes: string[];
  tools: string[];
  on_behalf_of: string;
  status: string;
  expires_at: string;
  created_at: string;
}

function parseGrantStatus(value: string): string {
  if (!(MCP_GRANT_STATUS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`Use one of ${MCP_GRANT_STATUS.join(", ")}.`);
  }
  return value;
}

interface RegisterOptions extends CommonOptions {
  org: string;
  name: string;
  upstream: string;
  tool: McpTool[];
  scopes?: string[];
  description?: string;
  owner: string;
  disabled?: boolean;
  savedConnection?: string;
}

/** `--upstream https://…` or `--upstream binding:DEMO`. */
function parseUpstream(value: string): string | { binding: string } {
  if (value.startsWith("binding:")) {
    const binding = value.slice("binding:".length);
    if (!(MCP_UPSTREAM_BINDINGS as readonly string[]).includes(binding)) {
      throw new InvalidArgumentError(`Use binding:${MCP_UPSTREAM_BINDINGS.join(" or binding:")}, or an https URL.`);
    }
    return { binding };
  }
  if (!URL.canParse(value)) throw new InvalidArgumentError("Use an https URL or binding:<name>.");
  return value;
}

/** `--tool name[:sensitive]`, repeatable. */
function collectTool(value: string, previous: McpTool[] = []): McpTool[] {
  const [name, sensitivity = "normal"] = value.split(":");
  if (!name || !(MCP_TOOL_SENSITIVITY as readonly string[]).includes(sensitivity)) {
    throw new InvalidArgumentError(`Use name or name:${MCP_TOOL_SENSITIVITY.join("|")}.`);
  }
  return [...previous, { name, sensitivity: sensitivity as McpTool["sensitivity"] }];
}

function upstreamText(upstream: McpServer["upstream"]): string {
  return typeof upstream === "string" ? upstream : `binding:${upstream.binding}`;
}

/**
 * `mono-auth mcp register|list`: an org's MCP servers (the admin API's
 * `/orgs/{org}/mcp-servers`). A registered server is fronted by the gateway
 * at its `resource`, with RFC 9728 metadata at `resource_metadata`.
 * `mono-auth mcp grant list`: what approved access requests let agents call
 * (`/orgs/{org}/mcp-grants`, paged, newest first).
 */
export function registerMcpCommands(program: Command): void {
  const mcp = program.command("mcp").description("MCP servers an org puts behind the gateway");

  withCommonOptions(
    mcp
      .command("register")
      .description("register an MCP server; the gateway fronts it at /mcp/<name>")
      .requiredOption("--org <org>", "the organization's id")
      .requiredOption("--name <name>", "its name: the path /mcp/<name> (lowercase letters, digits, -)")
      .requiredOption("--upstream <url|binding:NAME>", "where the gateway sends its calls", parseUpstream)
      .requiredOption("--tool <name[:sensitive]>", "a tool it exposes (repeatable)", collectTool)
      .requiredOption("--owner <owner>", "who answers for it (a team, an address)")
      .option("--scopes <scopes>", "space-separated scopes it understands", parseScopes)
      .option("--description <text>", "what it is for")
      .option("--disabled", "register it disabled (not fronted yet)")
      .option(
        "--saved-connection <provider>",
        "a vault provider of the org (id or name) whose saved token the gateway sends the server instead of the agent's",
      ),
  ).action(async (options: RegisterOptions) => {
    const created = await new AdminApi(options).request<McpServer>(
      "POST",
      `/orgs/${encodeURIComponent(options.org)}/mcp-servers`,
      {
        name: options.name,
        upstream: options.upstream,
        tools: options.tool,
        owner: options.owner,
        ...(options.scopes ? { scopes: options.scopes } : {}),
        ...(options.description ? { description: options.description } : {}),
        ...(options.disabled ? { status: "disabled" } : {}),
        ...(options.savedConnection ? { saved_connection: options.savedConnection } : {}),
      },
    );
    printResult(options.json, created, () =>
      keyValueTable([
        ["name", created.name],
        ["resource", created.resource],
        ["resource_metadata", created.resource_metadata],
        ["upstream", upstreamText(created.upstream)],
        ["scopes", created.scopes.join(" ")],
        [
          "tools",
          created.tools.map((t) => `${t.name}${t.sensitivity === "sensitive" ? " (sensitive)" : ""}`).join(", "),
        ],
        ["status", created.status],
        ["saved_connection", created.saved_connection ?? "-"],
      ]),
    );
  });

  withCommonOptions(
    mcp
      .command("list")
      .description("list an org's MCP servers (the built-in demo first)")
      .requiredOption("--org <org>", "the organization's id"),
  ).action(async (options: CommonOptions & { org: string }) => {
    const listed = await new AdminApi(options).request<{ servers: McpServer[] }>(
      "GET",
      `/orgs/${encodeURIComponent(options.org)}/mcp-servers`,
    );
    printResult(options.json, listed, () =>
      columnsTable(
        ["name", "status", "resource", "upstream", "tools"],
        listed.servers.map((s) => [
          s.name,
          s.status,
          s.resource,
          upstreamText(s.upstream),
          s.tools.map((t) => (t.sensitivity === "sensitive" ? `${t.name}*` : t.name)).join(","),
        ]),
      ),
    );
  });

  const grant = mcp.command("grant").description("what approved access requests let agents call");
  registerPagedList(grant, {
    description: "list an org's MCP grants, newest first",
    org: "the organization's id",
    path: (org) => `/orgs/${encodeURIComponent(org)}/mcp-grants`,
    key: "grants",
    columns: ["id", "status", "agent", "server", "tools", "on_behalf_of", "expires_at"],
    row: (g: McpGrant) => [
      g.id,
      g.status,
      g.client_id,
      g.server,
      [...g.tools, ...g.scopes].join(" "),
      g.on_behalf_of,
      g.expires_at,
    ],
    options: (command) =>
      command
        .option("--client <client_id>", "only the grants of this agent")
        .option("--status <status>", `only ${MCP_GRANT_STATUS.join(" | ")}`, parseGrantStatus),
    filters: (options: { client?: string; status?: string }) => ({
      client_id: options.client,
      status: options.status,
    }),
  });
}
