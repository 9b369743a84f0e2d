// The hostile-input sweep through the gateway (test/support/hostile-input.ts):
// its own endpoints (health, its assertion keys, RFC 9728 metadata), every
// protected route with every method it serves (with a valid token, so the
// hostile part is what the gateway and the downstream must refuse, and with
// garbage credentials), the MCP route's JSON-RPC body, and every public route
// it forwards (the path and header handling is the gateway's). The routes
// are read from the route table, so a new one is swept without being listed
// here. No answer may be a 5xx or carry a stack trace or a secret; the
// gateway's own and protected answers are JSON with a string `error`.
import { env } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { ROUTES, type RouteConfig } from "../../workers/gateway/src/routing/route-table.ts";
import { type SweptEndpoint, sweep } from "../support/hostile-input.ts";
import { TEST_SECRETS } from "../support/secrets.ts";
import { gatewayFetch, memberClaims, type TestSigner, testSigner } from "./signed-token.ts";

const ORIGIN = "http://localhost:8787";
const SECRETS = Object.entries(TEST_SECRETS)
  .filter(([name]) => name !== "GATEWAY_ASSERTION_JWKS")
  .map(([, value]) => value);
const fetcher = (request: Request) => gatewayFetch(request.url, request);
const edge = () => ({ "cf-connecting-ip": `2001:db8:${crypto.randomUUID().slice(0, 4)}::1` });

let signer: TestSigner;
const tokens = new Map<string, string>();

beforeAll(async () => {
  signer = await testSigner();
});

beforeEach(async () => {
  await signer.publish();
  for (const route of ROUTES) {
    if (route.kind !== "protected") continue;
    const aud = route.audience === "resource" ? `${env.ISSUER}${route.path}` : env.API_AUDIENCE;
    tokens.set(
      route.path,
      await signer.sign(memberClaims({ aud, scope: [...route.scopes, "documents:read"].join(" ") })),
    );
  }
});

/** A path the route matches: below/subtree routes get a segment of their own, for the hostile segment cases. */
function sweptPath(route: RouteConfig): string {
  return route.match === "exact" ? route.path : `${route.path}/:sub`;
}

function endpointsOf(route: RouteConfig): SweptEndpoint[] {
  const path = sweptPath(route);
  switch (route.kind) {
    case "local":
      return [{ method: "GET", path, headers: edge, errors: "oauth" }];
    case "protected":
      return Object.keys(route.methods)
        .filter((method) => method !== "HEAD")
        .map(
          (method): SweptEndpoint => ({
            method,
            path,
            params: { sub: "doc-1" },
            headers: () => ({ ...edge(), Accept: "application/json, text/event-stream" }),
            auth: () => ({ Authorization: `Bearer ${tokens.get(route.path)}` }),
            body: "json",
            base: route.mcp ? { jsonrpc: "2.0", method: "tools/call" } : {},
            fields: route.mcp ? ["id", "params", "method"] : ["name"],
            errors: "oauth",
          }),
        );
    case "public":
      // Forwarded as they come: the answer is the upstream's (pages, SCIM, OAuth); the gateway must not fault.
      return ["GET", "POST"].map((method) => ({ method, path, headers: edge, body: "form", errors: "page" }));
  }
}

const ENDPOINTS = ROUTES.flatMap(endpointsOf).map((e) => ({ name: `${e.method} ${e.path}`, endpoint: e }));

describe.concurrent("hostile input through the gateway: never a 5xx, never a trace", () => {
  it.each(ENDPOINTS)("$name", async ({ endpoint }) => {
    await sweep(fetcher, ORIGIN, endpoint, SECRETS);
  });

  it("GET an unknown path and a registered-MCP-looking path", async () => {
    await sweep(fetcher, ORIGIN, { method: "GET", path: "/mcp/:server", headers: edge, errors: "oauth" }, SECRETS);
    await sweep(
      fetcher,
      ORIGIN,
      { method: "POST", path: "/:any", headers: edge, body: "json", errors: "oauth" },
      SECRETS,
    );
  });

  // Path shapes aimed at the normaliser and the route match: dot segments,
  // encoded and not, backslashes, ; parameters, a full-width solidus, doubled slashes.
  it.each([
    "//api/documents",
    "/api\\documents",
    "/admin/v1/%2e%2e/%2e%2e/api/documents",
    "/api/documents/..%2f..%2fadmin",
    "/api/documents;x=1",
    "/api/%EF%BC%8Fdocuments",
    "/.well-known/oauth-protected-resource/%2e%2e/%2e%2e/admin",
    "/scim/v2/Users/%2e%2e/%2e%2e/admin/v1/orgs",
  ])("the path %s", async (path) => {
    for (const method of ["GET", "POST"]) {
      await sweep(fetcher, ORIGIN, { method, path, headers: edge, body: "json", errors: "page" }, SECRETS);
    }
  });

  it("GET the protected-resource metadata of the MCP route", async () => {
    await sweep(
      fetcher,
      ORIGIN,
      {
        method: "GET",
        path: `${ENDPOINT.protectedResourceMetadata}${ENDPOINT.mcpDemo}`,
        headers: edge,
        errors: "oauth",
      },
      SECRETS,
    );
  });
});
