import type { MiddlewareHandler } from "hono";
import { asProblemResponse } from "../../../../shared/errors/problem.ts";
import type { AdminEnv } from "./types.ts";

/**
 * Every error the admin API answers is RFC 9457 problem details
 * (shared/errors/problem.ts): handlers keep throwing HttpError (or
 * answering with the shared/errors helpers, as the RFC 6750 challenges
 * do), and this outermost layer restates the answer, so no route, ours or
 * a noun added later, can leak the other format.
 */
export function problemDetails(): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    await next();
    if (c.res.status >= 400) c.res = await asProblemResponse(c.res);
  };
}
