// A paged admin list's cursor (workers/token/src/admin/page.ts, and the
// audit trail's, admin/audit-trail.ts: one codec, audit/query-events.ts) names a
// position the API returned: a row's created_at in milliseconds and its id.
// A time no Date can hold (past ±8.64e15 ms, ECMA-262 §21.4.1.1) is not
// one: 400 invalid_query naming the cursor, as any other cursor this API
// never returned, never a silently empty or unfiltered page.
import { describe, expect, it } from "vitest";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { createTestOrg } from "./clients-fixtures.ts";

const cursorOf = (position: unknown) =>
  btoa(JSON.stringify(position)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

describe("admin list pages: a cursor outside the time a Date holds", () => {
  it.each([
    ["past the latest Date", 8_640_000_000_000_001],
    ["before the earliest Date", -8_640_000_000_000_001],
    ["the largest safe integer", Number.MAX_SAFE_INTEGER],
  ])("%s is 400 invalid_query naming cursor on every paged list", async (_, time) => {
    const token = await adminToken();
    const orgId = await createTestOrg();
    const created = await adminRequest("POST", `/orgs/${orgId}/scim-tokens`, { token, body: {} });
    expect(created.status).toBe(201);
    for (const path of ["clients", "scim-tokens", "vault/connections"]) {
      const response = await adminRequest("GET", `/orgs/${orgId}/${path}?cursor=${cursorOf([time, "x"])}`, { token });
      const problem = await expectHttpError(response, 400, "invalid_query");
      expect(problem.detail).toBe("cursor: not a cursor this API returned");
    }
  });

  it.each([
    ["past the latest Date", 8_640_000_000_000_001],
    ["before the earliest Date", -8_640_000_000_000_001],
  ])("%s is 400 invalid_query naming cursor on the audit trail", async (_, time) => {
    const token = await adminToken();
    const response = await adminRequest("GET", `/audit/events?cursor=${cursorOf([time, "x"])}`, { token });
    const problem = await expectHttpError(response, 400, "invalid_query");
    expect(problem.detail).toBe("cursor: not a cursor this API returned");
  });

  it("the earliest and latest times a Date holds are still cursors", async () => {
    const token = await adminToken();
    const orgId = await createTestOrg();
    const created = await adminRequest("POST", `/orgs/${orgId}/scim-tokens`, { token, body: {} });
    const { id } = (await created.json()) as { id: string };
    const earliest = await adminRequest("GET", `/orgs/${orgId}/scim-tokens?cursor=${cursorOf([-8.64e15, "x"])}`, {
      token,
    });
    expect(earliest.status).toBe(200);
    expect(((await earliest.json()) as { scim_tokens: { id: string }[] }).scim_tokens.map((t) => t.id)).toEqual([id]);
    const latest = await adminRequest("GET", `/orgs/${orgId}/scim-tokens?cursor=${cursorOf([8.64e15, "x"])}`, {
      token,
    });
    expect(latest.status).toBe(200);
    expect(await latest.json()).toEqual({ scim_tokens: [], next_cursor: null });
  });
});
