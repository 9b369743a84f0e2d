// The admin lists that page newest first (workers/token/src/admin/page.ts):
// an org's access requests, MCP grants, host invites and delegation grants,
// `?limit=&cursor=` (and each list's own filters) → `{ <items>, next_cursor }`,
// by created_at then id, both descending. The contract is the clients list's
// (admin-list-pages.test.ts): limit 1-500, default 100, an opaque cursor,
// 400 invalid_query naming the parameter. A cursor is only a position: one
// from another org or another list pages the caller's own rows from there.
// Rows are written straight to D1 so that several share one millisecond.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  accessRequestRow,
  clientRow,
  delegationGrantRow,
  insertStatements,
  inviteRow,
  mcpGrantRow,
  type Row,
} from "../support/list-rows.ts";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import {
  type AdminList,
  BAD_CURSORS,
  BAD_LIMITS,
  expectInvalidQuery,
  expectKeysetHolds,
  expectPagesOfTwo,
  getPage,
  idsOf,
  insert,
  walk,
} from "./admin-list-page-fixtures.ts";
import { createTestOrg } from "./clients-fixtures.ts";

interface ListCase extends AdminList {
  key: "access_requests" | "grants" | "invites";
  idField: "id" | "jti";
  /** The query parameters the list knows, as its refusal names them. */
  known: string;
  /** A filter of the list, and what a row it keeps has. */
  filter: { query: string; columns: Row };
}

const LISTS: ListCase[] = [
  {
    name: "access requests",
    path: (orgId) => `/orgs/${orgId}/access-requests`,
    key: "access_requests",
    idField: "id",
    table: "mcp_access_request",
    row: accessRequestRow,
    known: "limit, cursor, status, client_id",
    filter: { query: "client_id=agent-kept", columns: { client_id: "agent-kept" } },
  },
  {
    name: "MCP grants",
    path: (orgId) => `/orgs/${orgId}/mcp-grants`,
    key: "grants",
    idField: "id",
    table: "mcp_grant",
    row: mcpGrantRow,
    known: "limit, cursor, status, client_id",
    filter: { query: "status=revoked", columns: { status: "revoked" } },
  },
  {
    name: "host invites",
    path: (orgId) => `/orgs/${orgId}/invites`,
    key: "invites",
    idField: "jti",
    table: "host_invite",
    row: inviteRow,
    known: "limit, cursor, state",
    filter: { query: "state=redeemed", columns: { redeemed_at: Date.UTC(2026, 0, 3), client_id: "host-client" } },
  },
  {
    name: "delegation grants",
    path: (orgId) => `/orgs/${orgId}/delegation-grants`,
    key: "grants",
    idField: "id",
    table: "delegation_grant",
    row: delegationGrantRow,
    known: "limit, cursor, subject, actor_client_id",
    filter: { query: "actor_client_id=agent-kept", columns: { actor_client_id: "agent-kept" } },
  },
];

const SAME = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

/**
 * Five rows, inserted out of order: three share one millisecond (their ids
 * decide among them), one is older, one newer. Returns the ids newest first,
 * the order every page walk must give them.
 */
async function seedFive(list: ListCase, orgId: string, columns: Row = {}): Promise<string[]> {
  const tag = crypto.randomUUID().slice(0, 8);
  await insert(
    list,
    orgId,
    [
      [`${tag}-c`, SAME],
      [`${tag}-z-old`, SAME - 1],
      [`${tag}-a`, SAME],
      [`${tag}-a-new`, SAME + 1],
      [`${tag}-b`, SAME],
    ],
    columns,
  );
  return [`${tag}-a-new`, `${tag}-c`, `${tag}-b`, `${tag}-a`, `${tag}-z-old`];
}

/** When seedFive created the row of `id`. */
function createdAtOf(id: string): number {
  if (id.endsWith("-a-new")) return SAME + 1;
  if (id.endsWith("-z-old")) return SAME - 1;
  return SAME;
}

/** The ids a newest-first page after the position (`at`, `after`) may show: those strictly before it. */
function before(ids: string[], at: number, after: string): string[] {
  return ids.filter((id) => createdAtOf(id) < at || (createdAtOf(id) === at && id < after));
}

async function seededOrg(list: ListCase): Promise<{ token: string; orgId: string; expected: string[] }> {
  const token = await adminToken();
  const orgId = await createTestOrg();
  return { token, orgId, expected: await seedFive(list, orgId) };
}

describe.each(LISTS)("admin list pages, newest first: $name", (list) => {
  it("pages through every row once, newest first then by id, the last page's next_cursor null", async () => {
    const { token, orgId, expected } = await seededOrg(list);
    await expectPagesOfTwo(list, token, orgId, expected);
    for (const limit of [1, 3, 4, 5, 500]) expect(await walk(list, token, orgId, limit)).toEqual(expected);
  });

  it("without a limit a page is 100 rows, here all created in one millisecond", async () => {
    const token = await adminToken();
    const orgId = await createTestOrg();
    const ids = Array.from({ length: 101 }, (_, i) => `row-${String(i).padStart(3, "0")}-${orgId}`);
    await insert(
      list,
      orgId,
      ids.map((id) => [id, SAME]),
    );
    const newestFirst = [...ids].reverse();

    const first = await getPage(list, token, orgId);
    expect(idsOf(list, first)).toEqual(newestFirst.slice(0, 100));
    const second = await getPage(list, token, orgId, `?cursor=${first.next_cursor}`);
    expect(idsOf(list, second)).toEqual(newestFirst.slice(100));
    expect(second.next_cursor).toBeNull();
  });

  it("a filter holds on every page, and the pages walk its rows once", async () => {
    const token = await adminToken();
    const orgId = await createTestOrg();
    const kept = await seedFive(list, orgId, list.filter.columns);
    // Rows the filter drops, at the same times as the kept ones.
    await seedFive(list, orgId);

    expect(await walk(list, token, orgId, 2, list.filter.query)).toEqual(kept);
  });

  it("a page after a deleted row, or after rows created meanwhile, neither skips nor repeats a row", async () => {
    const { token, orgId, expected } = await seededOrg(list);
    // The cursor's own row gone, and a newer row added before the next read: the keyset still holds.
    await expectKeysetHolds(list, token, orgId, expected, [`${expected[0]}-newest`, SAME + 10]);
  });

  it("a cursor from another org is only a position: it pages the caller's org and shows none of the other's rows", async () => {
    const token = await adminToken();
    const { orgId: otherOrg } = await seededOrg(list);
    const { orgId, expected } = await seededOrg(list);
    const theirs = await getPage(list, token, otherOrg, "?limit=2");
    const otherIds = (await walk(list, token, otherOrg, 500)).sort();

    // Their cursor is their second row's position, (SAME, "<their tag>-c"): this org's rows before it.
    const position = idsOf(list, theirs)[1] as string;
    const page = await getPage(list, token, orgId, `?cursor=${theirs.next_cursor}`);
    const ids = idsOf(list, page);
    for (const id of ids) expect(otherIds).not.toContain(id);
    expect(ids).toEqual(before(expected, SAME, position));
    expect(ids).toContain(expected[4]);
  });

  it("a cursor from another list (the org's clients) pages this list from its position, nothing of the clients", async () => {
    const { token, orgId, expected } = await seededOrg(list);
    const clientIds = [`${orgId}-client-b`, `${orgId}-client-a`];
    await env.DB.batch(
      insertStatements("oauth_client", [
        clientRow(orgId, clientIds[1] as string, SAME),
        clientRow(orgId, clientIds[0] as string, SAME + 1),
      ]).map(({ sql, params }) => env.DB.prepare(sql).bind(...params)),
    );
    const clients = await adminRequest("GET", `/orgs/${orgId}/clients?limit=1`, { token });
    expect(clients.status).toBe(200);
    const { next_cursor } = (await clients.json()) as { next_cursor: string };

    // The clients' cursor is the oldest client's position, (SAME, "<org>-client-a"): this list's rows before it.
    const page = await getPage(list, token, orgId, `?cursor=${next_cursor}`);
    const ids = idsOf(list, page);
    for (const id of ids) expect(clientIds).not.toContain(id);
    expect(ids).toEqual(before(expected, SAME, clientIds[1] as string));
    expect(ids).toContain(expected[4]);
    expect(ids).not.toContain(expected[0]);
  });

  it.each([...BAD_LIMITS, ["1000, the old maximum", "?limit=1000"]])(
    "a limit of %s is 400 invalid_query naming limit",
    async (_, query) => {
      await expectInvalidQuery(list, query, "limit: must be an integer from 1 to 500");
    },
  );

  it.each([
    ...BAD_CURSORS,
    ["a time no Date holds", `?cursor=${btoa(JSON.stringify([8_640_000_000_000_001, "x"])).replace(/=+$/, "")}`],
  ])("a cursor %s is 400 invalid_query naming cursor", async (_, query) => {
    await expectInvalidQuery(list, query, "cursor: not a cursor this API returned");
  });

  it("a tampered cursor is 400 invalid_query, never a page", async () => {
    const { token, orgId } = await seededOrg(list);
    const { next_cursor } = await getPage(list, token, orgId, "?limit=1");
    const cursor = next_cursor as string;
    // Cut at either end, or a character no cursor has: no longer the base64url of a [time, id] position.
    for (const tampered of [cursor.slice(0, -3), `${cursor}!`, cursor.slice(4)]) {
      const problem = await expectHttpError(
        await adminRequest("GET", `${list.path(orgId)}?cursor=${encodeURIComponent(tampered)}`, { token }),
        400,
        "invalid_query",
      );
      expect(problem.detail).toBe("cursor: not a cursor this API returned");
    }
  });

  it("an unknown or repeated query parameter is 400 invalid_query, never the default page", async () => {
    await expectInvalidQuery(list, "?limt=2", `limt: unknown query parameter (known: ${list.known})`);
    await expectInvalidQuery(list, "?limit=2&limit=3", "limit: given more than once");
    await expectInvalidQuery(list, "?cursor=a&cursor=b", "cursor: given more than once");
    const filter = list.filter.query.split("=")[0] as string;
    await expectInvalidQuery(list, `?${list.filter.query}&${list.filter.query}`, `${filter}: given more than once`);
  });
});
