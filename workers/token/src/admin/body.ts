import type { Context } from "hono";
import { HttpError } from "../../../../shared/errors/http.ts";
import { readBodyCapped } from "../../../../shared/http/read-body.ts";
import type { AdminEnv } from "./types.ts";

/** Largest admin request body, in bytes: a client with an inline JWKS of a few RSA keys fits easily. */
export const MAX_ADMIN_BODY_BYTES = 64 * 1024;

/**
 * The JSON object an admin request carries (`application/json`, capped at
 * `maxBytes`, MAX_ADMIN_BODY_BYTES unless a noun needs more). Anything else
 * is 400 `invalid_body`.
 */
export async function readJsonObject(
  c: Context<AdminEnv>,
  maxBytes = MAX_ADMIN_BODY_BYTES,
): Promise<Record<string, unknown>> {
  const type = (c.req.header("Content-Type") ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json") throw new HttpError("invalid_body", "the body must be application/json");
  const bytes = await readBodyCapped(c.req.raw, maxBytes);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    throw new HttpError("invalid_body", "the body is not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HttpError("invalid_body", "the body must be a JSON object");
  }
  return value as Record<string, unknown>;
}
