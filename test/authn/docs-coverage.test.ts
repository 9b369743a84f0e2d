import { describe, expect, it } from "vitest";
import endpointsDoc from "../../docs/endpoints.md?raw";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import app from "../../workers/authn/src/index.ts";
import { scimApp } from "../../workers/authn/src/scim/app.ts";
import { documentedRoutes, servedRoutes } from "../support/runtime/docs-coverage.ts";

// The bar: every public endpoint in docs/. The authn Worker's router (pages,
// account actions, Better Auth's API, the console, SCIM) held to
// docs/endpoints.md's route index (the token Worker's: test/token/docs-coverage.test.ts).
describe("docs cover what the authn Worker serves", () => {
  it("names every route in the route index", () => {
    // SCIM answers its own 405s, which Hono wraps one by one when it mounts the
    // app (its error handler is its own): they are told apart in SCIM's app itself.
    const scim = `${ENDPOINT.scim}/`;
    const served = new Set([
      ...[...servedRoutes(app.routes)].filter((route) => !route.split(" ")[1]?.startsWith(scim)),
      ...servedRoutes(scimApp().routes, ENDPOINT.scim),
    ]);
    expect(served.size).toBeGreaterThan(60);
    const documented = documentedRoutes(endpointsDoc);
    expect([...served].filter((route) => !documented.has(route))).toEqual([]);
  });
});
