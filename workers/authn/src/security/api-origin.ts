import type { MiddlewareHandler } from "hono";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { authnConfig } from "../config.ts";

/**
 * Origins at /api/auth/*: CSRF on every state change, and CORS only for the
 * configured allowlist.
 *
 * CSRF: Better Auth checks `Origin` against the trusted origins only when the
 * request carries cookies; a cookie-less cross-site POST (login CSRF: signing
 * the victim's browser into the attacker's account, or starting a reset or
 * sign-up in their name) passes it. So every state-changing request that
 * names an `Origin` must name a trusted one (config.ts trustedOrigins), and
 * one with cookies must name one at all — a browser always sends `Origin`
 * on a cross-origin POST (Fetch, "append a request Origin header"). Refusals
 * use Better Auth's own codes and shape (`INVALID_ORIGIN`,
 * `MISSING_OR_NULL_ORIGIN`, 403), so a client sees one answer whichever
 * layer refused. The OAuth back channel (token, revocation, introspection,
 * userinfo) is authenticated by client credentials or a bearer token, never
 * by cookies, and is called from servers: no Origin rule applies there.
 */
const BACK_CHANNEL = new Set(
  ["/oauth2/token", "/oauth2/revoke", "/oauth2/introspect", "/oauth2/userinfo"].map(
    (path) => `${ENDPOINT.authApi}${path}`,
  ),
);

/** RFC 9700 §4.11 / the issue: the authorization endpoint answers no cross-origin reads. */
const NO_CORS = new Set([`${ENDPOINT.authApi}/oauth2/authorize`]);

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

function refusal(code: "INVALID_ORIGIN" | "MISSING_OR_NULL_ORIGIN"): Response {
  const message = code === "INVALID_ORIGIN" ? "Invalid origin" : "Missing or null Origin";
  return new Response(JSON.stringify({ code, message }), {
    status: 403,
    headers: { "Content-Type": "application/json", "Cache-Control": "no-store" },
  });
}

export const apiOriginPolicy: MiddlewareHandler<{ Bindings: AuthnEnv }> = async (c, next) => {
  const config = authnConfig(c.env);
  const request = c.req.raw;
  const origin = request.headers.get("Origin");
  const path = c.req.path;

  if (request.method === "OPTIONS") {
    // A preflight: answered only for an allowlisted origin; anyone else gets
    // no CORS headers (and the 405 of a method the API does not take: index.ts).
    if (origin && config.corsAllowedOrigins.includes(origin) && !NO_CORS.has(path)) {
      return new Response(null, { status: 204, headers: corsHeaders(origin, true) });
    }
    return next();
  }

  if (!SAFE_METHODS.has(request.method) && !BACK_CHANNEL.has(path)) {
    if (origin === null || origin === "null") {
      if (request.headers.has("Cookie")) return refusal("MISSING_OR_NULL_ORIGIN");
    } else if (!config.trustedOrigins.includes(origin)) {
      return refusal("INVALID_ORIGIN");
    }
  }

  await next();
  if (origin && config.corsAllowedOrigins.includes(origin) && !NO_CORS.has(path)) {
    const response = new Response(c.res.body, c.res);
    for (const [name, value] of Object.entries(corsHeaders(origin, false))) {
      if (name === "Vary") response.headers.append(name, value);
      else response.headers.set(name, value);
    }
    c.res = response;
  }
};

function corsHeaders(origin: string, preflight: boolean): Record<string, string> {
  return {
    "Access-Control-Allow-Origin": origin,
    "Access-Control-Allow-Credentials": "true",
    Vary: "Origin",
    ...(preflight
      ? {
          "Access-Control-Allow-Methods": "GET, POST",
          "Access-Control-Allow-Headers": "Content-Type",
          "Access-Control-Max-Age": "600",
        }
      : {}),
  };
}
