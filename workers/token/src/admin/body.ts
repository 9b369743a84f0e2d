import type { Context } from "hono";
import { readBodyCapped } from "../../../../shared/http/read-body.ts";
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

/**
 * A body that may be left out (a SCIM token's or a ban's options, a
 * rollback's): `{}` only when there is none (no Content-Type and no bytes).
 * Bytes without a Content-Type are refused as readJsonObject refuses them,
 * never read as no body: a `{"expires_in_days": 1}` sent bare would
 * otherwise make a token that never expires.
 */
export async function readOptionalJsonObject(c: Context<AdminEnv>): Promise<Record<string, unknown>> {
  if (c.req.header("Content-Type") === undefined) {
    if ((await readBodyCapped(c.req.raw, MAX_ADMIN_BODY_BYTES)).length === 0) return {};
  }
  return readJsonObject(c);
}
