import { describe, expect, it } from "vitest";
import endpointsDoc from "../../docs/endpoints.md?raw";
import { RouteTable } from "../../workers/gateway/src/routing/match-route.ts";
import { LOCAL_ROUTE_METHODS, type Match, ROUTES } from "../../workers/gateway/src/routing/route-table.ts";
import { documentedRoutes } from "../support/runtime/docs-coverage.ts";

/** The paths a route of the table takes, as the route index writes them (`{}`: any segment below it). */
function routePaths(path: string, match: Match): string[] {
  if (match === "exact") return [path];
  if (match === "below") return [`${path}/{}`];
  return [path, `${path}/{}`];
}

// The bar: every public endpoint in docs/. The gateway's route table held to
// docs/endpoints.md's route index: what it answers itself and what it
// protects with their methods, and where it passes a path on, some route of
// the index there (the Workers' own routes, methods included, are held to it
// by test/token and test/authn `docs-coverage.test.ts`).
describe("docs cover the gateway's route table", () => {
  it("names every route the gateway answers itself, with its methods", () => {
    const documented = documentedRoutes(endpointsDoc);
    const served = ROUTES.flatMap((route) =>
      route.kind === "local"
        ? routePaths(route.path, route.match).flatMap((path) =>
            LOCAL_ROUTE_METHODS.map((method) => `${method} ${path}`),
          )
        : [],
    );
    expect(served.length).toBeGreaterThan(5);
    expect(served.filter((route) => !documented.has(route))).toEqual([]);
  });

  it("names every protected route with its methods", () => {
    // A protected subtree's paths below it are told in its row's text, not listed.
    const documented = documentedRoutes(endpointsDoc);
    const served = ROUTES.flatMap((route) =>
      route.kind === "protected" ? Object.keys(route.methods).map((method) => `${method} ${route.path}`) : [],
    );
    expect(served.length).toBeGreaterThan(3);
    expect(served.filter((route) => !documented.has(route))).toEqual([]);
  });

  it("names a route at every path the gateway passes on to a Worker", () => {
    const documentedPaths = [...documentedRoutes(endpointsDoc)].map((route) => route.split(" ")[1] ?? "");
    const missing = ROUTES.flatMap((route) => {
      if (route.kind !== "public") return [];
      const found = documentedPaths.some(
        (path) =>
          (route.match !== "below" && path === route.path) ||
          (route.match !== "exact" && path.startsWith(`${route.path}/`)),
      );
      return found ? [] : [`${route.match} ${route.path}: no route of the index there`];
    });
    expect(missing).toEqual([]);
  });

  it("routes every path the route index names", () => {
    // A registered MCP server's path (`/mcp/<name>`) is found in the registry, not the table.
    const dynamic = new Set(["/mcp/{}"]);
    const table = new RouteTable(ROUTES, {
      issuer: "https://issuer.example",
      apiAudience: "https://issuer.example/api",
    });
    const unrouted = [...documentedRoutes(endpointsDoc)].filter((route) => {
      const path = route.split(" ")[1] ?? "";
      return !dynamic.has(path) && !table.match(path.replaceAll("{}", "x"));
    });
    expect(unrouted).toEqual([]);
  });
});
