import { type Command, InvalidArgumentError } from "commander";
import { ACCESS_REQUEST_STATUS } from "../../shared/contracts/mcp.ts";
import { AdminApi } from "../lib/admin-api.ts";
import { type CommonOptions, parseDuration, parseScopes, withCommonOptions } from "../lib/options.ts";
import { keyValueTable, printResult } from "../lib/output.ts";
import { registerPagedList } from "../lib/pages.ts";

/** An access request as the admin API shows it (workers/token/src/mcp/views.ts). */
interface AccessRequest {
  id: string;
  client_id: string;
  server: string;
  tools: string[];
  scopes: string[];
  on_behalf_of: string;
  reason: string;
  ttl_seconds: number;
  status: string;
  created_at: string;
  expires_at: string;
  decided_by: string | null;
  grant_id: string | null;
}

interface Grant {
  id: string;
  tools: string[];
  scopes: string[];
  expires_at: string;
}

interface DecideOptions extends CommonOptions {
  org: string;
  note?: string;
}

interface ApproveOptions extends DecideOptions {
  tools?: string[];
  scopes?: string[];
  ttl?: number;
}

function parseStatus(value: string): string {
  if (!(ACCESS_REQUEST_STATUS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`Use one of ${ACCESS_REQUEST_STATUS.join(", ")}.`);
  }
  return value;
}

/** `--tools "a b"`: space-separated tool names. */
function parseTools(value: string): string[] {
  const tools = [...new Set(value.split(/\s+/).filter(Boolean))];
  if (tools.length === 0) throw new InvalidArgumentError("Name at least one tool.");
  return tools;
}

function requestRows(request: AccessRequest): [string, string][] {
  return [
    ["id", request.id],
    ["status", request.status],
    ["agent", request.client_id],
    ["server", request.server],
    ["tools", request.tools.join(" ")],
    ["scopes", request.scopes.join(" ")],
    ["on_behalf_of", request.on_behalf_of],
    ["reason", request.reason],
  ];
}

/**
 * `mono-auth access-request list|approve|deny`: the operator's side of
 * agents' access requests (the admin API's `/orgs/{org}/access-requests`).
 * Approving may narrow the tools, scopes and TTL asked for, never widen
 * them; the answer names the grant it created.
 */
export function registerAccessRequestCommands(program: Command): void {
  const requests = program.command("access-request").description("agents' requests for access to MCP servers");

  registerPagedList(requests, {
    description: "list an org's access requests, newest first",
    org: "the organization's id",
    path: (org) => `/orgs/${encodeURIComponent(org)}/access-requests`,
    key: "access_requests",
    columns: ["id", "status", "agent", "server", "tools", "on_behalf_of", "reason"],
    row: (r: AccessRequest) => [
      r.id,
      r.status,
      r.client_id,
      r.server,
      [...r.tools, ...r.scopes].join(" "),
      r.on_behalf_of,
      r.reason,
    ],
    options: (command) => command.option("--status <status>", `only ${ACCESS_REQUEST_STATUS.join(" | ")}`, parseStatus),
    filters: (options: { status?: string }) => ({ status: options.status }),
  });

  withCommonOptions(
    requests
      .command("approve <id>")
      .description("approve a pending request: creates a grant (optionally narrower)")
      .requiredOption("--org <org>", "the organization's id")
      .option("--tools <tools>", "grant only these of the tools asked for", parseTools)
      .option("--scopes <scopes>", "grant only these of the scopes asked for", parseScopes)
      .option("--ttl <duration>", "a shorter lifetime than asked for (90s, 30m, 1h, 1d)", parseDuration)
      .option("--note <text>", "why, for the audit trail and the agent"),
  ).action(async (id: string, options: ApproveOptions) => {
    const decided = await new AdminApi(options).request<{ access_request: AccessRequest; grant: Grant }>(
      "POST",
      `/orgs/${encodeURIComponent(options.org)}/access-requests/${encodeURIComponent(id)}/approve`,
      {
        ...(options.tools ? { tools: options.tools } : {}),
        ...(options.scopes ? { scopes: options.scopes } : {}),
        ...(options.ttl ? { ttl_seconds: options.ttl } : {}),
        ...(options.note ? { note: options.note } : {}),
      },
    );
    printResult(options.json, decided, () =>
      keyValueTable([
        ...requestRows(decided.access_request),
        ["grant", decided.grant.id],
        ["granted", [...decided.grant.tools, ...decided.grant.scopes].join(" ")],
        ["grant_expires_at", decided.grant.expires_at],
      ]),
    );
  });

  withCommonOptions(
    requests
      .command("deny <id>")
      .description("deny a pending request")
      .requiredOption("--org <org>", "the organization's id")
      .option("--note <text>", "why, for the audit trail and the agent"),
  ).action(async (id: string, options: DecideOptions) => {
    const decided = await new AdminApi(options).request<{ access_request: AccessRequest }>(
      "POST",
      `/orgs/${encodeURIComponent(options.org)}/access-requests/${encodeURIComponent(id)}/deny`,
      options.note ? { note: options.note } : {},
    );
    printResult(options.json, decided, () => keyValueTable(requestRows(decided.access_request)));
  });
}
