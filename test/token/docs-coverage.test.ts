import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import endpointsDoc from "../../docs/endpoints.md?raw";
import storageDoc from "../../docs/storage-schema.md?raw";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { AGENT_API } from "../../shared/contracts/mcp.ts";
import { VAULT_PATH } from "../../shared/contracts/vault.ts";
import { adminRouter } from "../../workers/token/src/admin/router.ts";
import { registeredRoutes } from "../../workers/token/src/admin/route.ts";
import { agentApi } from "../../workers/token/src/mcp/agent-api.ts";
import { ssfRoutes } from "../../workers/token/src/ssf/routes.ts";
import { vaultFlowRoutes } from "../../workers/token/src/vault/routes.ts";
import { ROUTES } from "../../workers/gateway/src/routing/route-table.ts";
import {
  documentedRoutes,
  documentedTables,
  normaliseRoutePath,
  schemaTables,
  servedRoutes,
  undocumentedColumns,
} from "../support/runtime/docs-coverage.ts";

// The bar: every public endpoint and every D1 table and column in docs/. The
// token Worker's routers and both databases, held to docs/endpoints.md's
// route index and docs/storage-schema.md (the authn Worker's routes:
// test/authn/docs-coverage.test.ts).
describe("docs cover what the token Worker serves and what D1 holds", () => {
  it("names every admin, agent, vault and SSF route in the route index", () => {
    const documented = documentedRoutes(endpointsDoc);
    const served = new Set<string>([
      ...registeredRoutes(adminRouter()).map(
        ({ method, path }) => `${method.toUpperCase()} ${normaliseRoutePath(`${ENDPOINT.admin}${path}`)}`,
      ),
      ...servedRoutes(agentApi().routes, AGENT_API.prefix),
      ...servedRoutes(vaultFlowRoutes().routes, VAULT_PATH.base),
      ...servedRoutes(ssfRoutes().routes, ENDPOINT.ssf),
    ]);
    expect(served.size).toBeGreaterThan(90);
    expect([...served].filter((route) => !documented.has(route))).toEqual([]);
  });

  it("names every protected route of the gateway's route table with its methods", () => {
    const documented = documentedRoutes(endpointsDoc);
    const served = ROUTES.flatMap((route) =>
      route.kind === "protected" ? Object.keys(route.methods).map((method) => `${method} ${route.path}`) : [],
    );
    expect(served.length).toBeGreaterThan(3);
    expect(served.filter((route) => !documented.has(route))).toEqual([]);
  });

  it("reads a route index row as the docs write it", () => {
    const sample = [
      "## Route index",
      "| method, path | what |",
      "|---|---|",
      "| `GET`/`PATCH /admin/v1/orgs/{org}/clients/{id}`, `POST …/clients/{id}/disable`, `…/clients/{id}/rotate` | x |",
      "| `GET /scim/v2/Schemas`, `/scim/v2/Schemas/{id}` | x |",
      "| `POST …/orphan` | x |",
      "## Next",
      "| `DELETE /elsewhere` | x |",
    ].join("\n");
    expect([...documentedRoutes(`\n${sample}`)].sort()).toEqual([
      "GET /admin/v1/orgs/{}/clients/{}",
      "GET /scim/v2/Schemas",
      "GET /scim/v2/Schemas/{}",
      "PATCH /admin/v1/orgs/{}/clients/{}",
      "POST /admin/v1/orgs/{}/clients/{}/disable",
      "POST /admin/v1/orgs/{}/clients/{}/rotate",
    ]);
  });

  it("names every public path of shared/contracts/endpoints.ts", () => {
    const missing = Object.entries(ENDPOINT).filter(
      ([, path]) =>
        !endpointsDoc.includes(`${path}\``) && !endpointsDoc.includes(`${path} `) && !endpointsDoc.includes(`${path}/`),
    );
    expect(missing).toEqual([]);
  });

  it("describes every table and column of both D1 databases", async () => {
    const documented = documentedTables(storageDoc);
    const main = await schemaTables(env.DB);
    const audit = await schemaTables(env.AUDIT_DB);
    expect(main.size).toBeGreaterThan(40);
    expect(audit.size).toBeGreaterThan(1);
    expect(undocumentedColumns(new Map([...main, ...audit]), documented)).toEqual([]);
  });
});
