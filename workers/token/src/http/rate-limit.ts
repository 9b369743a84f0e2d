import type { MiddlewareHandler } from "hono";
import { httpErrorResponse } from "../../../../shared/errors/http.ts";
import { checkLimits } from "../../../../shared/rate-limit/check-limits.ts";
import { clientAddressKey } from "../../../../shared/rate-limit/client-address.ts";

/**
 * The token endpoint's limit per client address, as declared on the
 * `TOKEN_ENDPOINT_LIMITER` binding in wrangler.toml (the binding enforces
 * the toml's numbers; the period is repeated here for `Retry-After`, and a
 * test checks the two agree).
 */
export const TOKEN_ENDPOINT_LIMIT = { limit: 300, periodSeconds: 60 } as const;

/**
 * Refuses a client address (an IPv4 address, or an IPv6 /64) that sent more
 * token requests than the limit in the current period: 429 with
 * `Retry-After` (RFC 6585 §4), before the body is read. Counted on the
 * rate-limiting binding, which holds across isolates. Not audited: a flood
 * must not become a flood of audit events.
 */
export function limitTokenRequestsByAddress(): MiddlewareHandler<{ Bindings: TokenEnv }> {
  return async (c, next) => {
    const verdict = await checkLimits([
      {
        limiter: c.env.TOKEN_ENDPOINT_LIMITER,
        key: clientAddressKey(c.req.raw.headers),
        periodSeconds: TOKEN_ENDPOINT_LIMIT.periodSeconds,
      },
    ]);
    if (verdict.limited) {
      return httpErrorResponse("rate_limited", "too many token requests from this address", {
        "Retry-After": String(verdict.retryAfterSeconds),
      });
    }
    await next();
  };
}
