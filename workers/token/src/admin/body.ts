import type { Context } from "hono";
import { readJsonObject as readJsonObjectBody } from "../../../../shared/http/read-json.ts";
import type { AdminEnv } from "./types.ts";

/** Largest admin request body, in bytes: a client with an inline JWKS of a few RSA keys fits easily. */
export const MAX_ADMIN_BODY_BYTES = 64 * 1024;

/**
 * The JSON object an admin request carries (`application/json`, capped at
 * `maxBytes`, MAX_ADMIN_BODY_BYTES unless a noun needs more), read by
 * shared/http/read-json.ts. Anything else is 400 `invalid_body`.
 */
export async function readJsonObject(
  c: Context<AdminEnv>,
  maxBytes = MAX_ADMIN_BODY_BYTES,
): Promise<Record<string, unknown>> {
  return readJsonObjectBody(c.req.raw, maxBytes);
}
