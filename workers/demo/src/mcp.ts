import { MCP_PATH_PREFIX, MCP_SERVER_NAME } from "../../../shared/contracts/mcp.ts";
import { type DocumentRow, documentStore } from "./documents.ts";

/**
 * The demo MCP server: streamable HTTP without sessions, one JSON-RPC
 * message per POST, answered with one JSON object. Two tools, so a policy
 * can allow one and not the other: `list_documents` (harmless: the rows the
 * gateway's filter allows) and `purge_documents` (sensitive by name; the
 * demo stores nothing, so it only says what it would remove).
 */

/** Protocol revisions this server speaks, newest first (MCP "Versioning"). */
const PROTOCOL_VERSIONS = ["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"] as const;

export const DEMO_TOOLS = {
  listDocuments: "list_documents",
  purgeDocuments: "purge_documents",
} as const;

const TOOLS = [
  {
    name: DEMO_TOOLS.listDocuments,
    description: "List the documents you may read",
    inputSchema: { type: "object", properties: {} },
  },
  {
    name: DEMO_TOOLS.purgeDocuments,
    description: "Remove every document of the organization (sensitive)",
    inputSchema: { type: "object", properties: {} },
  },
];

interface JsonRpcMessage {
  id?: string | number | null;
  method: string;
  params?: { name?: unknown; protocolVersion?: unknown };
}

/** JSON-RPC 2.0 §5.1 codes. */
const METHOD_NOT_FOUND = -32601;
const INVALID_PARAMS = -32602;
const PARSE_ERROR = -32700;

export async function handleMcp(request: Request, rows: () => DocumentRow[]): Promise<Response> {
  let message: JsonRpcMessage;
  try {
    message = (await request.json()) as JsonRpcMessage;
  } catch {
    return rpcError(null, PARSE_ERROR, "parse error", 400);
  }
  // A notification (no id) gets no JSON-RPC answer: 202 (streamable HTTP, "Sending Messages").
  if (message.id === undefined) return new Response(null, { status: 202 });
  const id = message.id;
  switch (message.method) {
    case "initialize": {
      const asked = message.params?.protocolVersion;
      const version = PROTOCOL_VERSIONS.find((v) => v === asked) ?? PROTOCOL_VERSIONS[0];
      return rpcResult(id, {
        protocolVersion: version,
        capabilities: { tools: {} },
        serverInfo: { name: "mono-auth-demo", version: "1.0.0" },
      });
    }
    case "ping":
      return rpcResult(id, {});
    case "tools/list":
      return rpcResult(id, { tools: TOOLS });
    case "tools/call": {
      const name = message.params?.name;
      if (name === DEMO_TOOLS.listDocuments) {
        return rpcResult(id, { content: [{ type: "text", text: JSON.stringify(rows()) }] });
      }
      if (name === DEMO_TOOLS.purgeDocuments) {
        return rpcResult(id, { content: [{ type: "text", text: `would purge ${rows().length} documents` }] });
      }
      return rpcError(id, INVALID_PARAMS, `unknown tool: ${String(name)}`, 200);
    }
    default:
      // Revision 2026-07-28: an unimplemented method is 404 with -32601.
      return rpcError(id, METHOD_NOT_FOUND, "method not found", 404);
  }
}

function rpcResult(id: string | number | null, result: unknown): Response {
  return Response.json({ jsonrpc: "2.0", id, result });
}

function rpcError(id: string | number | null, code: number, message: string, status: number): Response {
  return Response.json({ jsonrpc: "2.0", id, error: { code, message } }, { status });
}

/** The rows of the org the filter allows (also used by the REST route). */
export function filteredRows(orgId: string, keep: (row: DocumentRow) => boolean): DocumentRow[] {
  return documentStore(orgId).filter(keep);
}

/**
 * An MCP server an org registered with the gateway's DEMO binding as its
 * upstream (shared/contracts/mcp.ts): the same tools under its own path and
 * resource identifier, so the registry can be tried without another server.
 */
export function isRegisteredMcpPath(path: string): boolean {
  if (!path.startsWith(`${MCP_PATH_PREFIX}/`)) return false;
  return MCP_SERVER_NAME.test(path.slice(MCP_PATH_PREFIX.length + 1));
}
