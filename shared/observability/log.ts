import type { MiddlewareHandler } from "hono";
import { REQUEST_ID_HEADER } from "../contracts/headers.ts";
import { COMPACT_JWS } from "../jwt/compact-jws.ts";

/** A structured log line's fields: JSON values only, never a token, a cookie or a body. */
export type LogFields = Record<string, string | number | boolean | null>;

/**
 * One JSON object per line on the Worker's log (`wrangler tail --format
 * json`, Workers Logs, Logpush all index its fields): the event, the Worker
 * and the request id the gateway assigned (shared/contracts/headers.ts), so
 * one request can be followed across Workers.
 */
export function logJson(level: "info" | "warn" | "error", fields: LogFields & { event: string; worker: string }): void {
  const line = JSON.stringify({ level, time: new Date().toISOString(), ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

/** What a path segment that is a token is logged as. */
export const REDACTED_TOKEN_SEGMENT = "[jws]";

/** What a value that holds one of our secrets is logged as. */
export const REDACTED_SECRET_SEGMENT = "[secret]";

/** The prefix of every secret we issue (shared/crypto/secret-hash.ts generateClientSecret). */
const SECRET_PREFIX = "mas_";
/** One of our secrets anywhere in a value: a client secret, or the secret half of a SCIM token. */
const HOLDS_SECRET = /mas_[A-Za-z0-9_-]{43}/;

/**
 * A request path as a log line or an audit event may keep it: each segment
 * that is a compact JWS (RFC 7515 §7.1) replaced with REDACTED_TOKEN_SEGMENT,
 * each that holds one of our secrets with REDACTED_SECRET_SEGMENT (loggableValue),
 * as written or once percent-decoded.
 * No route takes a token in its path, but a caller can put one there (an
 * invite pasted where its jti belongs): the path is written on the refusal,
 * and a token in it would be readable by whoever reads the log while it
 * still works. Only a segment whose first part can be a JSON object (`{"` or
 * `{ ` encodes as `ey`) is one, so `report.v2.pdf` is logged as it is.
 */
export function loggablePath(pathname: string): string {
  if (!pathname.includes(".") && !pathname.includes(SECRET_PREFIX) && !pathname.includes("%")) return pathname;
  return pathname.split("/").map(loggableSegment).join("/");
}

/**
 * A segment as loggableValue keeps it, judged also once percent-decoded
 * (RFC 3986 §2.1), which is how a router hands it to a handler: a token or
 * secret pasted with an escape in it (`%65yJ…`, `%6Das_…`) reaches the
 * handler as itself, and judging only the segment as written would keep it,
 * still usable, in the line. Other encoded segments are kept as written.
 */
function loggableSegment(segment: string): string {
  const kept = loggableValue(segment);
  if (kept !== segment || !segment.includes("%")) return kept;
  const decoded = percentDecoded(segment);
  const decodedKept = loggableValue(decoded);
  return decodedKept === decoded ? segment : decodedKept;
}

function percentDecoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch (error) {
    // Not percent-encoded UTF-8 (`%E0%A4%A`): no router reads it as a token either.
    if (error instanceof URIError) return segment;
    throw error;
  }
}

/**
 * A value a caller chose (a path segment, an id an audit event names) as a
 * log line or an audit event may keep it: a compact JWS is
 * REDACTED_TOKEN_SEGMENT, a value holding one of our secrets (an operator
 * pasting a SCIM token or a client secret where its id belongs) is
 * REDACTED_SECRET_SEGMENT; anything else as it is.
 */
export function loggableValue(value: string): string {
  if (value.startsWith("ey") && COMPACT_JWS.test(value)) return REDACTED_TOKEN_SEGMENT;
  return value.includes(SECRET_PREFIX) && HOLDS_SECRET.test(value) ? REDACTED_SECRET_SEGMENT : value;
}

/** Requests slower than this are logged even when they succeed. */
const SLOW_REQUEST_MS = 1000;

/** Whether a request is worth a line: a refusal, a failure, or slow (a line per success would cost the hot path). */
export function worthLogging(status: number, durationMs: number): boolean {
  return status >= 400 || durationMs >= SLOW_REQUEST_MS;
}

/**
 * For the Workers behind the gateway (reached only by service binding, so
 * the request id they receive is the gateway's): one `http.request` line
 * for each refused, failed or slow request, with that id.
 */
export function requestLog(worker: string): MiddlewareHandler {
  return async (c, next) => {
    const started = Date.now();
    await next();
    const durationMs = Date.now() - started;
    if (!worthLogging(c.res.status, durationMs)) return;
    logJson(c.res.status >= 500 ? "error" : "info", {
      event: "http.request",
      worker,
      request_id: c.req.header(REQUEST_ID_HEADER) ?? null,
      method: c.req.method,
      path: loggablePath(new URL(c.req.url).pathname),
      status: c.res.status,
      duration_ms: durationMs,
    });
  };
}

/** GET /health of a Worker: it runs and answers; `checks` name what it depends on. */
export function healthResponse(worker: string, checks: Record<string, "ok" | "down"> = {}): Response {
  const ok = Object.values(checks).every((state) => state === "ok");
  return Response.json(
    { status: ok ? "ok" : "degraded", worker, ...(Object.keys(checks).length > 0 ? { checks } : {}) },
    { status: ok ? 200 : 503, headers: { "Cache-Control": "no-store" } },
  );
}
