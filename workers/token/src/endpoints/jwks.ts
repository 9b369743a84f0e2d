import type { Context } from "hono";
import { tokenConfig } from "../config.ts";
import { publishedJwks } from "../keys/jwks.ts";
import { keyStore } from "../keys/signing-keys.ts";

/**
 * Verifiers may cache the set briefly; a rotation publishes the next key
 * well before it signs, so a cached set never misses a key in use.
 */
const JWKS_CACHE = "public, max-age=300";

/**
 * ENDPOINT.jwks (RFC 7517 §5): the KV copy (keys/jwks.ts).
 * Request headers are not read: a client's `Cache-Control: no-cache` must
 * not reach D1.
 */
export async function jwksEndpoint(c: Context<{ Bindings: TokenEnv }>): Promise<Response> {
  const jwks = await publishedJwks(keyStore(c.env, tokenConfig(c.env)));
  return c.json(jwks, 200, { "Cache-Control": JWKS_CACHE });
}
