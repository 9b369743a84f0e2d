// The hostile-input sweep on the authn Worker (test/support/hostile-input.ts):
// every route of its own (pages and forms, the session exchange, the account
// and console actions, SCIM, the closed OIDC token paths), with every method
// it takes, read from the Worker's router so a new route is swept without
// being listed here. Better Auth's own API (/api/auth/*) is its library's.
// No answer may be a 5xx or carry a stack trace or a secret; the session
// exchange and the closed token paths answer RFC 6749 JSON, SCIM RFC 7644.
import { exports } from "cloudflare:workers";
import { COMPOSED_HANDLER } from "hono/utils/constants";
import { beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { OIDC_ENDPOINT } from "../../shared/contracts/oidc.ts";
import authn from "../../workers/authn/src/index.ts";
import { AUTH_ERROR_PAGE } from "../../workers/authn/src/pages/auth-error.tsx";
import { type ErrorFormat, type SweptEndpoint, sweep } from "../support/hostile-input.ts";
import { TEST_SECRETS } from "../support/secrets.ts";
import { clientAddress, ORIGIN } from "./helpers.ts";
import { scimOrg } from "./scim-helpers.ts";

const SECRETS = Object.entries(TEST_SECRETS)
  .filter(([name]) => name !== "GATEWAY_ASSERTION_JWKS")
  .map(([, value]) => value);
const fetcher = (request: Request) => exports.default.fetch(request);
/** A browser of this origin on an address of its own (the credential limits never count the sweep). */
const browser = () => ({ Origin: ORIGIN, "cf-connecting-ip": clientAddress() });

/** Below Better Auth's prefix, the routes this Worker answers (or, for authorize, reads first) itself. */
const OWN_AUTH_API_PATHS: readonly string[] = [
  OIDC_ENDPOINT.authorize,
  OIDC_ENDPOINT.token,
  OIDC_ENDPOINT.revocation,
  OIDC_ENDPOINT.introspection,
  AUTH_ERROR_PAGE,
];

/**
 * A 405 answer (shared/http/unsupported-methods.ts), registered for every
 * method a path does not take. A sub-app's routes (SCIM) are wrapped in its
 * error handler when mounted (Hono's `route()`), which keeps the route's own
 * handler under COMPOSED_HANDLER.
 */
function isMethodNotAllowed(handler: unknown): boolean {
  const own = (handler as Record<string, unknown>)[COMPOSED_HANDLER] ?? handler;
  return String(own).includes("respond(allow)");
}

/**
 * One of SCIM's 405 answers, swept as a route: its own responder (RFC 7644
 * errors) behind SCIM's token check and write audit. Every other SCIM path
 * and method it does not take answers through the same code; 37 of them,
 * each swept in full, were a third of this file's requests.
 */
const SCIM_METHOD_NOT_ALLOWED = { method: "POST", path: `${ENDPOINT.scim}/Users/:id` };

/**
 * The Worker's own routes: not its middleware, not the 405 answers registered
 * last (but one of SCIM's), not Better Auth's. Each method and path once: a
 * route registered with a middleware of its own (`app.get(path, headers,
 * page)`: /app, /sign-out, the error page) is one entry per handler in
 * Hono's list, and was swept once per entry, the same requests again.
 */
const ROUTES = authn.routes
  .filter(
    (r) =>
      r.method !== "ALL" &&
      !r.path.endsWith("*") &&
      (!isMethodNotAllowed(r.handler) ||
        (r.method === SCIM_METHOD_NOT_ALLOWED.method && r.path === SCIM_METHOD_NOT_ALLOWED.path)) &&
      !(r.path.startsWith(ENDPOINT.authApi) && !OWN_AUTH_API_PATHS.includes(r.path)),
  )
  .filter((r, i, all) => all.findIndex((o) => o.method === r.method && o.path === r.path) === i);
const OAUTH_PATHS: readonly string[] = [
  ENDPOINT.sessionToken,
  OIDC_ENDPOINT.token,
  OIDC_ENDPOINT.revocation,
  OIDC_ENDPOINT.introspection,
];

const FORM_FIELDS = [
  "email",
  "password",
  "name",
  "token",
  "code",
  "audience",
  "scope",
  "session_id",
  "id",
  "org",
  "role",
  "member_id",
  "accept",
  "document",
  "redirect_uri",
];
const SCIM_FIELDS = ["userName", "displayName", "externalId", "active", "schemas", "Operations", "members", "emails"];

let scimAccess: Awaited<ReturnType<typeof scimOrg>>;

beforeAll(async () => {
  scimAccess = await scimOrg();
});

function formatOf(path: string): ErrorFormat {
  if (path.startsWith(ENDPOINT.scim)) return "scim";
  return OAUTH_PATHS.includes(path) ? "oauth" : "page";
}

describe.concurrent("hostile input at the authn Worker's own routes: never a 5xx, never a trace", () => {
  it("reads every route it sweeps from the router", () => {
    const named = ROUTES.map((r) => `${r.method} ${r.path}`);
    for (const expected of [
      `POST ${ENDPOINT.signIn}`,
      `POST ${ENDPOINT.sessionToken}`,
      `POST ${ENDPOINT.consent}`,
      `GET ${ENDPOINT.scim}/Users`,
      `POST ${ENDPOINT.console}/orgs/:org/clients`,
      `GET ${OIDC_ENDPOINT.authorize}`,
    ]) {
      expect(named).toContain(expected);
    }
    // SCIM's 405s are told apart through Hono's wrapping: one swept, the rest not.
    const scimMethodNotAllowed = authn.routes.filter(
      (r) => r.path.startsWith(ENDPOINT.scim) && isMethodNotAllowed(r.handler),
    );
    expect(scimMethodNotAllowed.length).toBeGreaterThan(30);
    // A route with a middleware of its own is in Hono's list twice, and swept once.
    expect(authn.routes.filter((r) => r.method === "GET" && r.path === ENDPOINT.app).length).toBeGreaterThan(1);
    expect(named.filter((n) => n === `GET ${ENDPOINT.app}`)).toHaveLength(1);
    expect(named.filter((n) => scimMethodNotAllowed.some((r) => n === `${r.method} ${r.path}`))).toEqual([
      `${SCIM_METHOD_NOT_ALLOWED.method} ${SCIM_METHOD_NOT_ALLOWED.path}`,
    ]);
  });

  it.each(ROUTES.map((r) => ({ name: `${r.method} ${r.path}`, method: r.method, path: r.path })))(
    "$name",
    async ({ method, path }) => {
      // The router also holds each path's 405 answers (registered last): those are swept elsewhere.
      const probe = await fetcher(
        new Request(`${ORIGIN}${path.replace(/:\w+/g, "x")}`, { method, redirect: "manual" }),
      );
      await probe.body?.cancel();
      if (probe.status === 405) return;
      const format = formatOf(path);
      const scimRoute = format === "scim";
      const endpoint: SweptEndpoint = {
        method,
        path,
        params: { org: scimAccess.orgId },
        headers: browser,
        auth: (): Record<string, string> =>
          scimRoute ? { Authorization: `Bearer ${scimAccess.token}` } : { Cookie: scimAccess.owner.cookie },
        body: scimRoute ? "json" : "form",
        // http/well-formed-body.ts: every form and JSON body, whatever the route.
        refusesIllFormed: method !== "GET",
        fields: scimRoute ? SCIM_FIELDS : FORM_FIELDS,
        query: scimRoute
          ? ["filter", "startIndex", "count", "attributes", "excludedAttributes"]
          : [
              "token",
              "callbackURL",
              "error",
              "client_id",
              "redirect_uri",
              "state",
              "next",
              "scope",
              "response_type",
              "code_challenge",
              "resource",
              "prompt",
            ],
        errors: format,
      };
      await sweep(fetcher, ORIGIN, endpoint, SECRETS);
    },
  );
});
