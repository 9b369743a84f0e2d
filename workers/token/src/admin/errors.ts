import { type HttpErrorCode, httpErrorResponse, internalErrorResponse } from "../../../../shared/errors/http.ts";
import { BodyTooLargeError } from "../../../../shared/http/read-body.ts";

/** A refusal of the admin API with its stable code (shared/errors/http.ts). */
export class AdminError extends Error {
  override readonly name = "AdminError";
  constructor(
    readonly code: HttpErrorCode,
    readonly description: string,
  ) {
    super(`${code}: ${description}`);
  }
}

/** What the caller sees for any error: the code and a description, never a stack or a secret. */
export function adminErrorResponse(error: unknown): Response {
  if (error instanceof AdminError) return httpErrorResponse(error.code, error.description);
  if (error instanceof BodyTooLargeError) {
    return httpErrorResponse("payload_too_large", `an admin request body is at most ${error.maxBytes} bytes`);
  }
  return internalErrorResponse("admin api", error);
}
