// The admin API's reads refuse a query parameter they cannot use with one
// stable problem, 400 `invalid_query` (urn:mono-auth:problem:invalid_query),
// whose detail names the parameter; a bad body stays `invalid_body`.
import { beforeAll, describe, expect, it } from "vitest";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";

let token: string;
let orgId: string;

beforeAll(async () => {
  token = await adminToken();
  const created = await adminRequest("POST", "/orgs", { token, body: { name: "Queried" } });
  expect(created.status).toBe(201);
  orgId = ((await created.json()) as { id: string }).id;
});

describe("admin API: bad query parameters are 400 invalid_query", () => {
  it.each([
    ["access requests: an unknown status", "/orgs/{org}/access-requests?status=maybe", /^status: must be one of /],
    [
      "access requests: a limit of 0",
      "/orgs/{org}/access-requests?limit=0",
      /^limit: must be an integer from 1 to 500$/,
    ],
    ["access requests: a limit in exponent form", "/orgs/{org}/access-requests?limit=1e1", /^limit: /],
    ["MCP grants: an unknown status", "/orgs/{org}/mcp-grants?status=paused", /^status: must be one of /],
    [
      "MCP grants: a limit past the cap (the paged lists' 500)",
      "/orgs/{org}/mcp-grants?limit=501",
      /^limit: must be an integer from 1 to 500$/,
    ],
    ["delegation grants: a word for a limit", "/orgs/{org}/delegation-grants?limit=ten", /^limit: /],
    ["policy versions: a limit of 0", "/orgs/{org}/policies?limit=0", /^limit: must be an integer from 1 to 500$/],
    ["policy versions: a negative before", "/orgs/{org}/policies?before=-3", /^before: /],
    ["revocations: a negative after", "/orgs/{org}/revocations?after=-1", /^after: a non-negative integer/],
    ["metrics: a zero-hour window", "/metrics?hours=0", /^hours: an integer from 1 to 744$/],
    ["audit events: an unknown parameter", "/audit/events?orgg=x", /^orgg: unknown query parameter/],
    ["audit events: a parameter given twice", "/audit/events?org=a&org=b", /^org: given more than once$/],
    ["audit verify: no org", "/audit/verify", /^org: required/],
  ])("%s", async (_what, path, detail) => {
    const response = await adminRequest("GET", path.replace("{org}", orgId), { token });
    const problem = await expectHttpError(response, 400, "invalid_query");
    expect(problem).toMatchObject({
      type: "urn:mono-auth:problem:invalid_query",
      title: "Invalid query parameter",
      status: 400,
      code: "invalid_query",
      error: "invalid_query",
    });
    expect(problem.detail).toMatch(detail);
  });

  it("the same reads answer 200 to parameters they can use", async () => {
    for (const path of [
      "/orgs/{org}/access-requests?status=pending&limit=5",
      "/orgs/{org}/mcp-grants?status=revoked&limit=500",
      "/orgs/{org}/delegation-grants?limit=1",
      "/orgs/{org}/policies?limit=500",
      "/orgs/{org}/revocations?after=0",
      "/metrics?hours=744",
    ]) {
      const response = await adminRequest("GET", path.replace("{org}", orgId), { token });
      expect(response.status, path).toBe(200);
    }
  });
});
