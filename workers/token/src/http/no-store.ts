import type { MiddlewareHandler } from "hono";
import { NO_STORE_HEADERS } from "../../../../shared/errors/oauth.ts";

/**
 * RFC 6749 §5.1 (and §5.2, RFC 7009 §2.2, RFC 7662 §2.2): the token,
 * revocation and introspection endpoints answer with `Cache-Control:
 * no-store` and `Pragma: no-cache`. The OAuth helpers set both on what they
 * write (shared/errors/oauth.ts), but an answer written by anything else on
 * the way (a 413 over the body cap, a 429 from the address limit, the 405 of
 * another method, a 500 from the Worker's last-resort handler) went out with
 * `no-store` alone, so an HTTP/1.0 cache between a client and us could keep
 * it. Set on the way out, whoever wrote the answer.
 */
export function noStore(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(NO_STORE_HEADERS)) c.res.headers.set(name, value);
  };
}
