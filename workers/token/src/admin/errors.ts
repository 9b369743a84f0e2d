import { HttpError, httpErrorResponse, internalErrorResponse } from "../../../../shared/errors/http.ts";
import { BodyTooLargeError } from "../../../../shared/http/read-body.ts";

/**
 * What the caller sees for any error of the admin API (and the agent API,
 * mcp/agent-api.ts, which shares it: nothing here may name the admin API): handlers throw an
 * HttpError with its stable code (shared/errors/http.ts); anything else is
 * our fault, answered without its cause (which goes to the log).
 */
export function adminErrorResponse(error: unknown): Response {
  if (error instanceof HttpError) return httpErrorResponse(error.code, error.description, error.headers);
  if (error instanceof BodyTooLargeError) {
    return httpErrorResponse("payload_too_large", `a request body is at most ${error.maxBytes} bytes`);
  }
  return internalErrorResponse("admin api", error);
}
