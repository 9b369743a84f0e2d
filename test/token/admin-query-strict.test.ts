// The admin API's reads that take a filter refuse a query parameter they do
// not know, one given twice, and a filter given empty, with 400
// `invalid_query` naming it (docs/endpoints.md, "Errors"): each of those
// used to be read as "no filter", so a misspelt `orgs=` (or an empty
// `org=`) made GET /metrics count every org's chain, and an empty
// `client_id=` listed every client's access requests, answering a
// question nobody asked as if it had been understood.
import { beforeAll, describe, expect, it } from "vitest";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { createTestOrg } from "./clients-fixtures.ts";

let token: string;
let orgId: string;

beforeAll(async () => {
  token = await adminToken();
  orgId = await createTestOrg();
});

describe("admin API: reads take only the parameters they know", () => {
  it.each([
    ["metrics: a misspelt org filter", "/metrics?orgs={org}", /^orgs: unknown query parameter \(known: org, hours\)$/],
    ["metrics: an empty org filter", "/metrics?org=", /^org: must not be empty$/],
    ["metrics: an org given twice", "/metrics?org={org}&org=platform", /^org: given more than once$/],
    ["metrics: hours given twice", "/metrics?hours=1&hours=744", /^hours: given more than once$/],
    ["policy versions: a misspelt limit", "/orgs/{org}/policies?limt=5", /^limt: unknown query parameter/],
    ["policy versions: before given twice", "/orgs/{org}/policies?before=3&before=9", /^before: given more than once$/],
    ["revocation events: a misspelt after", "/orgs/{org}/revocations?afte=3", /^afte: unknown query parameter/],
    ["access requests: an empty client_id", "/orgs/{org}/access-requests?client_id=", /^client_id: must not be empty$/],
    ["MCP grants: an empty client_id", "/orgs/{org}/mcp-grants?client_id=", /^client_id: must not be empty$/],
    ["delegation grants: an empty subject", "/orgs/{org}/delegation-grants?subject=", /^subject: must not be empty$/],
    [
      "delegation grants: an empty actor_client_id",
      "/orgs/{org}/delegation-grants?actor_client_id=&limit=5",
      /^actor_client_id: must not be empty$/,
    ],
  ])("%s: 400 invalid_query", async (_what, path, detail) => {
    const response = await adminRequest("GET", path.replaceAll("{org}", orgId), { token });
    const problem = await expectHttpError(response, 400, "invalid_query");
    expect(problem.detail).toMatch(detail);
  });

  it("the same reads still answer the parameters they know", async () => {
    for (const path of [
      "/metrics",
      "/metrics?org={org}&hours=2",
      "/orgs/{org}/policies?limit=5&before=9",
      "/orgs/{org}/revocations?after=0",
      "/orgs/{org}/access-requests?client_id=nobody&status=pending",
      "/orgs/{org}/mcp-grants?client_id=nobody",
      "/orgs/{org}/delegation-grants?subject=nobody&actor_client_id=nothing",
    ]) {
      const response = await adminRequest("GET", path.replaceAll("{org}", orgId), { token });
      expect(response.status, path).toBe(200);
    }
  });
});
