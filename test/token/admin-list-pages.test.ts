// The admin lists that page (workers/token/src/admin/page.ts): an org's
// clients, SCIM tokens and saved connections, `?limit=&cursor=` →
// `{ <items>, next_cursor }`, oldest first by created_at then id. Rows are
// written straight to D1 so that several share one created_at millisecond.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { clientRow, connectionRow, scimTokenRow } from "../support/list-rows.ts";
import { adminToken } from "./admin-fixtures.ts";
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
} from "./admin-list-page-fixtures.ts";
import { createTestOrg } from "./clients-fixtures.ts";

interface ListCase extends AdminList {
  key: "clients" | "scim_tokens" | "connections";
  idField: "client_id" | "id";
}

const LISTS: ListCase[] = [
  {
    name: "clients",
    path: (orgId) => `/orgs/${orgId}/clients`,
    key: "clients",
    idField: "client_id",
    table: "oauth_client",
    row: clientRow,
  },
  {
    name: "SCIM tokens",
    path: (orgId) => `/orgs/${orgId}/scim-tokens`,
    key: "scim_tokens",
    idField: "id",
    table: "scim_token",
    row: scimTokenRow,
  },
  {
    name: "saved connections",
    path: (orgId) => `/orgs/${orgId}/vault/connections`,
    key: "connections",
    idField: "id",
    table: "vault_connection",
    row: connectionRow,
  },
];

/**
 * Five rows, inserted out of order: three share one millisecond (their ids
 * decide among them), one is older, one newer. Returns the ids in the order
 * every page walk must give them.
 */
async function seedFive(list: ListCase, orgId: string): Promise<string[]> {
  const tag = crypto.randomUUID().slice(0, 8);
  const same = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
  await insert(list, orgId, [
    [`${tag}-c`, same],
    [`${tag}-z-old`, same - 1],
    [`${tag}-a`, same],
    [`${tag}-a-new`, same + 1],
    [`${tag}-b`, same],
  ]);
  return [`${tag}-z-old`, `${tag}-a`, `${tag}-b`, `${tag}-c`, `${tag}-a-new`];
}

/** An admin token, a new org, and its five rows (seedFive) in page order. */
async function seededOrg(list: ListCase): Promise<{ token: string; orgId: string; expected: string[] }> {
  const token = await adminToken();
  const orgId = await createTestOrg();
  return { token, orgId, expected: await seedFive(list, orgId) };
}

describe.each(LISTS)("admin list pages: $name", (list) => {
  it("pages through every row once, oldest first then by id, the last page's next_cursor null", async () => {
    const { token, orgId, expected } = await seededOrg(list);
    const { second } = await expectPagesOfTwo(list, token, orgId, expected);
    expect(second.next_cursor).toEqual(expect.any(String));
  });

  it("without a limit a short list is one page; a page that ends exactly at the last row says there is no next", async () => {
    const { token, orgId, expected } = await seededOrg(list);

    const all = await getPage(list, token, orgId);
    expect(idsOf(list, all)).toEqual(expected);
    expect(all.next_cursor).toBeNull();

    const exact = await getPage(list, token, orgId, "?limit=5");
    expect(idsOf(list, exact)).toEqual(expected);
    expect(exact.next_cursor).toBeNull();

    const most = await getPage(list, token, orgId, "?limit=500");
    expect(idsOf(list, most)).toEqual(expected);
  });

  it("without a limit a page is 100 rows, here all created in one millisecond", async () => {
    const token = await adminToken();
    const orgId = await createTestOrg();
    const at = Date.now();
    const ids = Array.from({ length: 101 }, (_, i) => `row-${String(i).padStart(3, "0")}-${orgId}`);
    await insert(
      list,
      orgId,
      [...ids].reverse().map((id) => [id, at]),
    );

    const first = await getPage(list, token, orgId);
    expect(idsOf(list, first)).toEqual(ids.slice(0, 100));
    const second = await getPage(list, token, orgId, `?cursor=${first.next_cursor}`);
    expect(idsOf(list, second)).toEqual(ids.slice(100));
    expect(second.next_cursor).toBeNull();
  });

  it("a page after a deleted row, or after rows created meanwhile, neither skips nor repeats a row", async () => {
    const { token, orgId, expected } = await seededOrg(list);
    // The cursor's own row gone, and a row added before it: the keyset still holds.
    await expectKeysetHolds(list, token, orgId, expected, [`${expected[0]}-earlier`, Date.UTC(2020, 0, 1)]);
  });

  it.each(BAD_LIMITS)("a limit of %s is 400 invalid_query naming limit", async (_, query) => {
    await expectInvalidQuery(list, query, "limit: must be an integer from 1 to 500");
  });

  it.each(BAD_CURSORS)("a cursor %s is 400 invalid_query naming cursor", async (_, query) => {
    await expectInvalidQuery(list, query, "cursor: not a cursor this API returned");
  });

  it("an unknown or repeated query parameter is 400 invalid_query, never the default page", async () => {
    await expectInvalidQuery(list, "?limt=2", "limt: unknown query parameter (known: limit, cursor)");
    await expectInvalidQuery(list, "?limit=2&limit=3", "limit: given more than once");
  });
});

describe("admin list pages: saved connections' agents", () => {
  it("each connection on a page carries its own agents, those of other pages and orgs none", async () => {
    const list = LISTS[2] as ListCase;
    const { token, orgId, expected } = await seededOrg(list);
    const otherOrg = await createTestOrg();
    const bind = (connectionId: string, clientId: string, org = orgId) =>
      env.DB.prepare(
        "INSERT INTO vault_connection_agent (connection_id, client_id, org_id, created_by, created_at) VALUES (?, ?, ?, 'test', ?)",
      )
        .bind(connectionId, clientId, org, Date.now())
        .run();
    await bind(expected[0] as string, "agent-first");
    await bind(expected[3] as string, "agent-b");
    await bind(expected[3] as string, "agent-a");
    // A binding row of another org naming this connection id is never shown here.
    await bind(expected[3] as string, "agent-other-org", otherOrg);

    const first = await getPage(list, token, orgId, "?limit=3");
    expect(first.items.map((c) => [c.id, c.agents])).toEqual([
      [expected[0], ["agent-first"]],
      [expected[1], []],
      [expected[2], []],
    ]);
    const second = await getPage(list, token, orgId, `?limit=3&cursor=${first.next_cursor}`);
    expect(second.items.map((c) => [c.id, c.agents])).toEqual([
      [expected[3], ["agent-a", "agent-b"]],
      [expected[4], []],
    ]);
  });
});
