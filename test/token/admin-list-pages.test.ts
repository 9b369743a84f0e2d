// The admin lists that page (workers/token/src/admin/page.ts): an org's
// clients, SCIM tokens and saved connections, `?limit=&cursor=` →
// `{ <items>, next_cursor }`, oldest first by created_at then id. Rows are
// written straight to D1 so that several share one created_at millisecond.
import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { oauthClient } from "../../shared/db/machine-schema.ts";
import { scimToken } from "../../shared/db/scim-schema.ts";
import { vaultConnection, vaultConnectionAgent } from "../../shared/db/vault-schema.ts";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { createTestOrg } from "./clients-fixtures.ts";

interface ListCase {
  name: string;
  path: (orgId: string) => string;
  /** The answer's array. */
  key: "clients" | "scim_tokens" | "connections";
  /** The item's id field. */
  idOf: (item: Record<string, unknown>) => string;
  /** Writes one row of the org with this id and created_at. */
  insert: (orgId: string, id: string, createdAt: Date) => Promise<void>;
}

const LISTS: ListCase[] = [
  {
    name: "clients",
    path: (orgId) => `/orgs/${orgId}/clients`,
    key: "clients",
    idOf: (item) => item.client_id as string,
    insert: async (orgId, id, createdAt) => {
      await drizzle(env.DB).insert(oauthClient).values({
        clientId: id,
        orgId,
        name: id,
        type: "machine",
        authMethod: "client_secret_basic",
        secretHash: "unused",
        grantTypes: "client_credentials",
        scopes: "documents:read",
        audiences: "https://api.example.test",
        status: "active",
        createdAt,
        updatedAt: createdAt,
      });
    },
  },
  {
    name: "SCIM tokens",
    path: (orgId) => `/orgs/${orgId}/scim-tokens`,
    key: "scim_tokens",
    idOf: (item) => item.id as string,
    insert: async (orgId, id, createdAt) => {
      await drizzle(env.DB)
        .insert(scimToken)
        .values({ id, orgId, tokenHash: "unused", description: null, createdBy: "test", createdAt, expiresAt: null });
    },
  },
  {
    name: "saved connections",
    path: (orgId) => `/orgs/${orgId}/vault/connections`,
    key: "connections",
    idOf: (item) => item.id as string,
    insert: async (orgId, id, createdAt) => {
      await drizzle(env.DB)
        .insert(vaultConnection)
        .values({
          id,
          orgId,
          providerId: "provider-unused",
          resource: "https://upstream.example.test",
          ownerKind: "user",
          ownerId: `user-${id}`,
          tokenEndpoint: "https://upstream.example.test/token",
          clientId: "upstream-client",
          accessTokenSealed: "sealed-unused",
          refreshTokenSealed: null,
          tokenType: "Bearer",
          expiresAt: null,
          scopes: "",
          createdBy: "test",
          createdAt,
          updatedAt: createdAt,
        });
    },
  },
];

interface Page {
  items: Record<string, unknown>[];
  next_cursor: string | null;
}

async function getPage(list: ListCase, token: string, orgId: string, query = ""): Promise<Page> {
  const response = await adminRequest("GET", `${list.path(orgId)}${query}`, { token });
  expect(response.status).toBe(200);
  const body = (await response.json()) as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual([list.key, "next_cursor"].sort());
  return { items: body[list.key] as Record<string, unknown>[], next_cursor: body.next_cursor as string | null };
}

/** The list of a new org read with `query`: 400 invalid_query, its detail exactly `detail`. */
async function expectInvalidQuery(list: ListCase, query: string, detail: string): Promise<void> {
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
 * Five rows, inserted out of order: three share one millisecond (their ids
 * decide among them), one is older, one newer. Returns the ids in the order
 * every page walk must give them.
 */
async function seedFive(list: ListCase, orgId: string): Promise<string[]> {
  const tag = crypto.randomUUID().slice(0, 8);
  const same = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
  const rows: [string, Date][] = [
    [`${tag}-c`, same],
    [`${tag}-z-old`, new Date(same.getTime() - 1)],
    [`${tag}-a`, same],
    [`${tag}-a-new`, new Date(same.getTime() + 1)],
    [`${tag}-b`, same],
  ];
  for (const [id, at] of rows) await list.insert(orgId, id, at);
  return [`${tag}-z-old`, `${tag}-a`, `${tag}-b`, `${tag}-c`, `${tag}-a-new`];
}

describe.each(LISTS)("admin list pages: $name", (list) => {
  it("pages through every row once, oldest first then by id, the last page's next_cursor null", async () => {
    const token = await adminToken();
    const orgId = await createTestOrg();
    const expected = await seedFive(list, orgId);

    const first = await getPage(list, token, orgId, "?limit=2");
    expect(first.items.map(list.idOf)).toEqual(expected.slice(0, 2));
    expect(first.next_cursor).toEqual(expect.any(String));

    // The cursor ends inside the three rows of one millisecond: the id orders them.
    const second = await getPage(list, token, orgId, `?limit=2&cursor=${first.next_cursor}`);
    expect(second.items.map(list.idOf)).toEqual(expected.slice(2, 4));
    expect(second.next_cursor).toEqual(expect.any(String));

    const last = await getPage(list, token, orgId, `?limit=2&cursor=${second.next_cursor}`);
    expect(last.items.map(list.idOf)).toEqual(expected.slice(4));
    expect(last.next_cursor).toBeNull();
  });

  it("without a limit a short list is one page; a page that ends exactly at the last row says there is no next", async () => {
    const token = await adminToken();
    const orgId = await createTestOrg();
    const expected = await seedFive(list, orgId);

    const all = await getPage(list, token, orgId);
    expect(all.items.map(list.idOf)).toEqual(expected);
    expect(all.next_cursor).toBeNull();

    const exact = await getPage(list, token, orgId, "?limit=5");
    expect(exact.items.map(list.idOf)).toEqual(expected);
    expect(exact.next_cursor).toBeNull();

    const most = await getPage(list, token, orgId, "?limit=500");
    expect(most.items.map(list.idOf)).toEqual(expected);
  });

  it("without a limit a page is 100 rows, here all created in one millisecond", async () => {
    const token = await adminToken();
    const orgId = await createTestOrg();
    const at = new Date();
    const ids = Array.from({ length: 101 }, (_, i) => `row-${String(i).padStart(3, "0")}-${orgId}`);
    for (const id of [...ids].reverse()) await list.insert(orgId, id, at);

    const first = await getPage(list, token, orgId);
    expect(first.items.map(list.idOf)).toEqual(ids.slice(0, 100));
    const second = await getPage(list, token, orgId, `?cursor=${first.next_cursor}`);
    expect(second.items.map(list.idOf)).toEqual(ids.slice(100));
    expect(second.next_cursor).toBeNull();
  });

  it("a page after a deleted row, or after rows created meanwhile, neither skips nor repeats a row", async () => {
    const token = await adminToken();
    const orgId = await createTestOrg();
    const expected = await seedFive(list, orgId);
    const first = await getPage(list, token, orgId, "?limit=2");

    // The cursor's own row gone, and a row added before it: the keyset still holds.
    const table =
      list.key === "clients" ? "oauth_client" : list.key === "scim_tokens" ? "scim_token" : "vault_connection";
    const column = list.key === "clients" ? "client_id" : "id";
    await env.DB.prepare(`DELETE FROM ${table} WHERE ${column} = ?`).bind(expected[1]).run();
    await list.insert(orgId, `${expected[0]}-earlier`, new Date(Date.UTC(2020, 0, 1)));

    const rest = await getPage(list, token, orgId, `?cursor=${first.next_cursor}`);
    expect(rest.items.map(list.idOf)).toEqual(expected.slice(2));
    expect(rest.next_cursor).toBeNull();
  });

  it.each([
    ["0", "?limit=0"],
    ["501, past the maximum", "?limit=501"],
    ["not digits", "?limit=ten"],
    ["exponent form", "?limit=1e2"],
    ["negative", "?limit=-1"],
    ["empty", "?limit="],
  ])("a limit of %s is 400 invalid_query naming limit", async (_, query) => {
    await expectInvalidQuery(list, query, "limit: must be an integer from 1 to 500");
  });

  it.each([
    ["not base64url", "?cursor=not%20a%20cursor"],
    ["base64url of no position", `?cursor=${btoa("hello").replace(/=+$/, "")}`],
    ["a position of the wrong shape", `?cursor=${btoa(JSON.stringify(["x", "y"])).replace(/=+$/, "")}`],
    ["empty", "?cursor="],
  ])("a cursor %s is 400 invalid_query naming cursor", async (_, query) => {
    await expectInvalidQuery(list, query, "cursor: not a cursor this API returned");
  });

  it("an unknown or repeated query parameter is 400 invalid_query, never the default page", async () => {
    await expectInvalidQuery(list, "?limt=2", "limt: unknown query parameter (known: limit, cursor)");
    await expectInvalidQuery(list, "?limit=2&limit=3", "limit: given more than once");
  });
});

describe("admin list pages: saved connections' agents", () => {
  it("each connection on a page carries its own agents, those of other pages and orgs none", async () => {
    const token = await adminToken();
    const orgId = await createTestOrg();
    const otherOrg = await createTestOrg();
    const list = LISTS[2] as ListCase;
    const expected = await seedFive(list, orgId);
    const at = new Date();
    const bind = (connectionId: string, clientId: string, org = orgId) =>
      drizzle(env.DB)
        .insert(vaultConnectionAgent)
        .values({ connectionId, clientId, orgId: org, createdBy: "test", createdAt: at });
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
