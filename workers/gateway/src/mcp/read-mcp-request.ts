import { BodyTooLargeError, readBodyCapped } from "../../../../shared/http/read-body.ts";
import { hasAmbiguousMemberNames } from "./ambiguous-members.ts";

/**
 * The largest JSON-RPC message the gateway reads to decide on an MCP request.
 * The body is held in memory to be decided on and then re-sent byte for byte,
 * so it is bounded; tool arguments are small.
 */
export const MAX_MCP_BODY_BYTES = 1_048_576;

/** MCP streamable HTTP's request metadata headers ("Request Metadata", revision 2026-07-28). */
export const MCP_HEADER = { method: "Mcp-Method", name: "Mcp-Name" } as const;

/** What the PDP learns from an MCP request, and the exact bytes to forward. */
export interface McpRequest {
  body: Uint8Array;
  /** The JSON-RPC `method`, e.g. "tools/call". */
  method: string;
  /** `params.name` of a `tools/call`: the tool. */
  tool: string | undefined;
}

export type McpRequestErrorCode =
  | "ERR_MCP_BODY_TOO_LARGE"
  | "ERR_MCP_NOT_JSON_RPC"
  | "ERR_MCP_BATCH"
  | "ERR_MCP_AMBIGUOUS_MEMBER"
  | "ERR_MCP_HEADER_MISMATCH";

const DESCRIPTION: Record<McpRequestErrorCode, string> = {
  ERR_MCP_BODY_TOO_LARGE: `the JSON-RPC message is larger than ${MAX_MCP_BODY_BYTES} bytes`,
  ERR_MCP_NOT_JSON_RPC: "the body is not one JSON-RPC 2.0 request or notification",
  ERR_MCP_BATCH: "JSON-RPC batches are not accepted; send one message per request",
  ERR_MCP_AMBIGUOUS_MEMBER: "an object in the message names a member twice, or two members that differ only in case",
  ERR_MCP_HEADER_MISMATCH: "Mcp-Method or Mcp-Name does not match the JSON-RPC body",
};

export class McpRequestError extends Error {
  override readonly name = "McpRequestError";
  constructor(readonly code: McpRequestErrorCode) {
    super(DESCRIPTION[code]);
  }

  get publicDescription(): string {
    return `${this.code}: ${DESCRIPTION[this.code]}`;
  }
}

/** The methods whose `params.name` or `params.uri` Mcp-Name mirrors (the transport's "Standard Request Headers"). */
const NAME_PARAM: Readonly<Record<string, "name" | "uri">> = {
  "tools/call": "name",
  "prompts/get": "name",
  "resources/read": "uri",
};

/**
 * Reads an MCP streamable-HTTP POST: one JSON-RPC 2.0 request or notification
 * (a client never sends responses; batches are gone since revision
 * 2025-06-18), read with a byte cap however the body is framed. The body is
 * what counts: the `Mcp-Method` and `Mcp-Name` headers, when a client sends
 * them, must say the same (Base64 sentinel `=?base64?…?=` decoded first),
 * or the request is refused, so no hop can route or decide on a header that
 * the MCP server would read differently ("Server Validation").
 *
 * The same holds for the body itself: the bytes are forwarded as they came,
 * so the server must read them as the gateway did. JSON parsers part on
 * duplicate and case-colliding member names (ambiguous-members.ts), so a
 * message with any, in any object at any depth (tool arguments too: the
 * server's reading of them is what an audited decision let through), is
 * refused. Refusing, not re-serialising what `JSON.parse` read: a canonical
 * copy would silently decide for the client which reading was meant, and
 * would change bytes a client may rely on (an `id` past 2^53 loses digits
 * through a JS number, escapes and number spellings change). Refused, the
 * client learns its message was ambiguous; forwarded as sent, the id and
 * arguments arrive exactly.
 */
export async function readMcpRequest(request: Request): Promise<McpRequest> {
  let body: Uint8Array;
  try {
    body = await readBodyCapped(request, MAX_MCP_BODY_BYTES);
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw new McpRequestError("ERR_MCP_BODY_TOO_LARGE");
    throw error;
  }
  let text: string;
  let message: unknown;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body);
    message = JSON.parse(text);
  } catch {
    throw new McpRequestError("ERR_MCP_NOT_JSON_RPC");
  }
  if (Array.isArray(message)) throw new McpRequestError("ERR_MCP_BATCH");
  // Only on text JSON.parse accepted: the scan assumes valid JSON.
  if (hasAmbiguousMemberNames(text)) throw new McpRequestError("ERR_MCP_AMBIGUOUS_MEMBER");
  if (typeof message !== "object" || message === null) throw new McpRequestError("ERR_MCP_NOT_JSON_RPC");
  const { jsonrpc, method, params } = message as { jsonrpc?: unknown; method?: unknown; params?: unknown };
  if (jsonrpc !== "2.0" || typeof method !== "string" || method.length === 0) {
    throw new McpRequestError("ERR_MCP_NOT_JSON_RPC");
  }
  if (params !== undefined && (typeof params !== "object" || params === null || Array.isArray(params))) {
    throw new McpRequestError("ERR_MCP_NOT_JSON_RPC");
  }
  const nameParam = NAME_PARAM[method];
  const name = nameParam ? (params as Record<string, unknown> | undefined)?.[nameParam] : undefined;
  if (nameParam && typeof name !== "string") throw new McpRequestError("ERR_MCP_NOT_JSON_RPC");
  // RFC 8259 §8.2: a lone surrogate is not a character; parsers replace it
  // (Go: U+FFFD) or keep it (JavaScript), so the policy and the server
  // could read two different method or tool names.
  if (!method.isWellFormed() || (typeof name === "string" && !name.isWellFormed())) {
    throw new McpRequestError("ERR_MCP_NOT_JSON_RPC");
  }

  const methodHeader = request.headers.get(MCP_HEADER.method);
  if (methodHeader !== null && methodHeader !== method) throw new McpRequestError("ERR_MCP_HEADER_MISMATCH");
  const nameHeader = request.headers.get(MCP_HEADER.name);
  if (nameHeader !== null && decodeHeaderValue(nameHeader) !== name) {
    throw new McpRequestError("ERR_MCP_HEADER_MISMATCH");
  }
  return { body, method, tool: method === "tools/call" ? (name as string) : undefined };
}

/** The transport's "Value Encoding": `=?base64?<Base64 of UTF-8>?=`, case-sensitive markers. */
function decodeHeaderValue(value: string): string | undefined {
  const match = /^=\?base64\?([A-Za-z0-9+/]*={0,2})\?=$/.exec(value);
  if (!match) return value;
  try {
    const binary = atob(match[1] as string);
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
      Uint8Array.from(binary, (c) => c.charCodeAt(0)),
    );
  } catch {
    return undefined;
  }
}
