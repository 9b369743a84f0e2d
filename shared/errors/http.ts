/**
 * Errors that belong to no protocol (an unknown path, a wrong method, our
 * own failure), in the same JSON shape the protocol helpers use, so a
 * client parses one shape everywhere. Never a stack trace or internal detail.
 */
export type HttpErrorStatus = 403 | 404 | 405 | 500 | 502 | 503;

export function jsonErrorResponse(status: HttpErrorStatus, error: string, description: string): Response {
  return new Response(JSON.stringify({ error, error_description: description }), {
    status,
    headers: { "Content-Type": "application/json", "Cache-Control": "no-store" },
  });
}

/** For a Worker's last-resort handler: log the cause, answer without it. */
export function internalErrorResponse(where: string, error: unknown): Response {
  console.error(`${where} failed`, error);
  return jsonErrorResponse(500, "server_error", "internal error");
}
