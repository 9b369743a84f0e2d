// Concurrent PATCHes of one MCP server (workers/token/src/admin/mcp-servers.ts):
// each writes the whole row, merged from what it read, so the write lands
// only on the row as it was read (its updated_at); one that finds the row
// changed reads it again and merges anew, up to three times, then answers
// 409 conflict. Two PATCHes fired at once therefore both land, and no field
// one of them wrote is undone by the other.
import { beforeAll, describe, expect, it } from "vitest";
import { SCOPE } from "../../shared/contracts/scopes.ts";
import type { McpServerView } from "../../workers/token/src/admin/mcp-servers.ts";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { createTestOrg } from "./clients-fixtures.ts";

type ServerView = McpServerView;

const ORIGINAL = {
  name: "crm",
  upstream: "https://crm.example.com/mcp",
  scopes: [SCOPE.documentsRead],
  tools: [{ name: "find_customer", sensitivity: "normal" }],
  description: "Customer records",
  owner: "sales-platform@example.com",
};

/** One PATCH per field, each changing only its own. */
const CHANGES: Record<string, Record<string, unknown>> = {
  upstream: { upstream: "https://crm-2.example.com/mcp" },
  scopes: { scopes: [SCOPE.documentsRead, SCOPE.revocationsRead] },
  tools: { tools: [{ name: "delete_customer", sensitivity: "sensitive" }] },
  description: { description: "Customer records, second edition" },
  owner: { owner: "crm-team@example.com" },
  status: { status: "disabled" },
};

let token: string;
beforeAll(async () => {
  token = await adminToken();
});

const serverPath = (orgId: string) => `/orgs/${orgId}/mcp-servers/crm`;

async function registered(): Promise<string> {
  const orgId = await createTestOrg();
  const created = await adminRequest("POST", `/orgs/${orgId}/mcp-servers`, { token, body: ORIGINAL });
  expect(created.status).toBe(201);
  return orgId;
}

async function current(orgId: string): Promise<ServerView> {
  const response = await adminRequest("GET", serverPath(orgId), { token });
  expect(response.status).toBe(200);
  return (await response.json()) as ServerView;
}

function patch(orgId: string, body: Record<string, unknown>): Promise<Response> {
  return adminRequest("PATCH", serverPath(orgId), { token, body });
}

describe("MCP server PATCH: concurrent changes", () => {
  it("two PATCHes of different fields fired at once both answer 200, and the row keeps both", async () => {
    // Several rounds: each is one interleaving of the two reads and writes.
    for (let round = 0; round < 5; round++) {
      const orgId = await registered();
      const [described, owned] = await Promise.all([
        patch(orgId, CHANGES.description as Record<string, unknown>),
        patch(orgId, CHANGES.owner as Record<string, unknown>),
      ]);
      expect(described.status).toBe(200);
      expect(owned.status).toBe(200);
      // Each answer shows its own change, written over whatever it found.
      expect(((await described.json()) as ServerView).description).toBe(CHANGES.description?.description);
      expect(((await owned.json()) as ServerView).owner).toBe(CHANGES.owner?.owner);
      const after = await current(orgId);
      expect(after.description).toBe(CHANGES.description?.description);
      expect(after.owner).toBe(CHANGES.owner?.owner);
      expect(after.upstream).toBe(ORIGINAL.upstream);
      expect(after.tools).toEqual(ORIGINAL.tools);
    }
  });

  it("two PATCHes of the same field both answer 200; the field ends as one of them wrote it", async () => {
    const orgId = await registered();
    const [first, second] = await Promise.all([
      patch(orgId, { description: "first" }),
      patch(orgId, { description: "second" }),
    ]);
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    const after = await current(orgId);
    expect(["first", "second"]).toContain(after.description);
    expect(after.owner).toBe(ORIGINAL.owner);
  });

  it("six PATCHes at once: each 200 or 409 conflict; every field a 200 wrote is kept, every other one unchanged", async () => {
    const orgId = await registered();
    const fields = Object.keys(CHANGES);
    const responses = await Promise.all(fields.map((field) => patch(orgId, CHANGES[field] as Record<string, unknown>)));
    const landed = new Set<string>();
    for (const [i, response] of responses.entries()) {
      if (response.status === 200) landed.add(fields[i] as string);
      // Refused whole: three reads in a row found the row changed under the write.
      else await expectHttpError(response, 409, "conflict");
    }
    expect(landed.size).toBeGreaterThanOrEqual(1);
    const after = (await current(orgId)) as unknown as Record<string, unknown>;
    for (const field of fields) {
      const expected = landed.has(field)
        ? (CHANGES[field] as Record<string, unknown>)[field]
        : ((ORIGINAL as Record<string, unknown>)[field] ?? "active");
      expect(after[field], field).toEqual(expected);
    }
  });

  it("a PATCH racing a DELETE answers 200 with its change or 404 not_found, never a 500", async () => {
    const orgId = await registered();
    const [patched, deleted] = await Promise.all([
      patch(orgId, CHANGES.owner as Record<string, unknown>),
      adminRequest("DELETE", serverPath(orgId), { token }),
    ]);
    expect(deleted.status).toBe(200);
    if (patched.status !== 200) await expectHttpError(patched, 404, "not_found");
    await expectHttpError(await adminRequest("GET", serverPath(orgId), { token }), 404, "not_found");
  });
});
