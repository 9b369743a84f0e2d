// Reading the admin API's paged lists (workers/token/src/admin/page.ts,
// docs/endpoints.md "Paged lists"): one list is a path, its answer's array and
// id field, and the D1 table its rows are written to straight
// (test/support/list-rows.ts), so that several share one millisecond.
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { insertStatements, type Row } from "../support/list-rows.ts";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { createTestOrg } from "./clients-fixtures.ts";

export interface AdminList {
  name: string;
  path: (orgId: string) => string;
  /** The answer's array. */
  key: string;
  /** The item's id field, and the row's. */
  idField: string;
  table: string;
  row: (orgId: string, id: string, at: number) => Row;
}

export interface Page {
  items: Record<string, unknown>[];
  next_cursor: string | null;
}

/** The org's rows, each `[id, created_at ms]`, in the order given, with `columns` over each row's own. */
export async function insert(list: AdminList, orgId: string, rows: [string, number][], columns: Row = {}) {
  const statements = insertStatements(
    list.table,
    rows.map(([id, at]) => ({ ...list.row(orgId, id, at), ...columns })),
  );
  await env.DB.batch(statements.map(({ sql, params }) => env.DB.prepare(sql).bind(...params)));
}

export const idsOf = (list: AdminList, page: Page) => page.items.map((item) => item[list.idField] as string);

/** One page: 200, and the answer holds exactly the list's array and next_cursor. */
export async function getPage(list: AdminList, token: string, orgId: string, query = ""): Promise<Page> {
  const response = await adminRequest("GET", `${list.path(orgId)}${query}`, { token });
  expect(response.status).toBe(200);
  const body = (await response.json()) as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual([list.key, "next_cursor"].sort());
  return { items: body[list.key] as Record<string, unknown>[], next_cursor: body.next_cursor as string | null };
}

/** Every page of the list read with `query` (and `limit`), in order. */
export async function walk(
  list: AdminList,
  token: string,
  orgId: string,
  limit: number,
  query = "",
): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 50; pages++) {
    const params = new URLSearchParams(query);
    params.set("limit", String(limit));
    if (cursor !== null) params.set("cursor", cursor);
    const page = await getPage(list, token, orgId, `?${params}`);
    ids.push(...idsOf(list, page));
    cursor = page.next_cursor;
    if (cursor === null) return ids;
  }
  throw new Error("more pages than rows");
}

/** The list of a new org read with `query`: 400 invalid_query, its detail exactly `detail`. */
export async function expectInvalidQuery(list: AdminList, query: string, detail: string): Promise<void> {
  const token = await adminToken();
  const orgId = await createTestOrg();
  const problem = await expectHttpError(
    await adminRequest("GET", `${list.path(orgId)}${query}`, { token }),
    400,
    "invalid_query",
  );
  expect(problem.detail).toBe(detail);
}

/**
 * The seeded rows read two at a time: three pages, together `expected` in
 * order, the first with a next_cursor, the last with none. The second cursor
 * ends inside the three rows of one millisecond, where the id orders them.
 */
export async function expectPagesOfTwo(
  list: AdminList,
  token: string,
  orgId: string,
  expected: string[],
): Promise<{ second: Page }> {
  const first = await getPage(list, token, orgId, "?limit=2");
  expect(idsOf(list, first)).toEqual(expected.slice(0, 2));
  expect(first.next_cursor).toEqual(expect.any(String));

  const second = await getPage(list, token, orgId, `?limit=2&cursor=${first.next_cursor}`);
  expect(idsOf(list, second)).toEqual(expected.slice(2, 4));

  const last = await getPage(list, token, orgId, `?limit=2&cursor=${second.next_cursor}`);
  expect(idsOf(list, last)).toEqual(expected.slice(4));
  expect(last.next_cursor).toBeNull();
  return { second };
}

/** A limit every paged list refuses with 400 invalid_query: `[what it is, the query]`. */
export const BAD_LIMITS: [string, string][] = [
  ["0", "?limit=0"],
  ["501, past the maximum", "?limit=501"],
  ["not digits", "?limit=ten"],
  ["exponent form", "?limit=1e2"],
  ["negative", "?limit=-1"],
  ["empty", "?limit="],
];

/** A cursor every paged list refuses with 400 invalid_query: `[what it is, the query]`. */
export const BAD_CURSORS: [string, string][] = [
  ["not base64url", "?cursor=not%20a%20cursor"],
  ["base64url of no position", `?cursor=${btoa("hello").replace(/=+$/, "")}`],
  ["a position of the wrong shape", `?cursor=${btoa(JSON.stringify(["x", "y"])).replace(/=+$/, "")}`],
  ["empty", "?cursor="],
];

/**
 * The page after the first two of `expected`, read once the cursor's own row
 * was deleted and the row `added` (`[id, created_at ms]`) written on the side
 * already read: the rest, nothing skipped or repeated, and no next page.
 */
export async function expectKeysetHolds(
  list: AdminList,
  token: string,
  orgId: string,
  expected: string[],
  added: [string, number],
): Promise<void> {
  const first = await getPage(list, token, orgId, "?limit=2");
  await env.DB.prepare(`DELETE FROM ${list.table} WHERE ${list.idField} = ?`).bind(expected[1]).run();
  await insert(list, orgId, [added]);

  const rest = await getPage(list, token, orgId, `?cursor=${first.next_cursor}`);
  expect(idsOf(list, rest)).toEqual(expected.slice(2));
  expect(rest.next_cursor).toBeNull();
}
