// Each paged admin list's own query (the SQL its store sends to D1, recorded
// on the way) seeks an index of migration 0028 (or 0031, for delegation
// grants of one subject to one actor): SQLite's EXPLAIN QUERY PLAN
// names the index, a page after a cursor seeks to its position by a range on
// created_at, and no list sorts the org's rows in a temporary B-tree (which
// reads every row of the org, whatever the limit).
import { describe, expect, it } from "vitest";
import type { PageRequest } from "../../shared/db/keyset-page.ts";
import { listScimTokens } from "../../workers/token/src/admin/scim-tokens.ts";
import { listClients } from "../../workers/token/src/clients/client-store.ts";
import { listDelegationGrants, liveDelegationGrants } from "../../workers/token/src/grants/delegation-grants.ts";
import { listInvites } from "../../workers/token/src/invites/store.ts";
import { listAccessRequests } from "../../workers/token/src/mcp/access-requests.ts";
import { listMcpGrants } from "../../workers/token/src/mcp/grants.ts";
import { listConnections } from "../../workers/token/src/vault/connections.ts";
import { planOfStatement, recordingDb, type SentStatement } from "../support/runtime/query-plans.ts";

/**
 * The plan of each SELECT the store sent whose rows come from `table` (not
 * one that only names it in a subquery, such as a page's agents), one
 * detail line per step.
 */
async function plansOf(sent: SentStatement[], table: string): Promise<string[]> {
  const reads = sent.filter((s) => /^\s*select\b/i.test(s.sql) && /\bfrom\s+["`]?(\w+)/i.exec(s.sql)?.[1] === table);
  expect(reads.length).toBeGreaterThan(0);
  const plans: string[] = [];
  for (const read of reads) plans.push(await planOfStatement(read));
  return plans;
}

/** Every plan seeks `index` (its range on created_at when `after` is set) and sorts nothing. */
function expectIndexed(plans: string[], table: string, index: string, after: boolean): void {
  for (const plan of plans) {
    expect(plan).toMatch(new RegExp(`SEARCH ${table} USING (COVERING )?INDEX ${index} \\(`));
    expect(plan).not.toMatch(/TEMP B-TREE/);
    if (after) expect(plan).toMatch(/created_at[<>]\?/);
  }
}

const FIRST: PageRequest = { limit: 100 };
const AFTER: PageRequest = { limit: 100, after: { createdAt: Date.UTC(2026, 0, 1), id: "x" } };

interface Case {
  name: string;
  table: string;
  index: string;
  read: (db: D1Database, orgId: string, page: PageRequest) => Promise<unknown>;
}

const CASES: Case[] = [
  {
    name: "clients",
    table: "oauth_client",
    index: "oauth_client_org_created_idx",
    read: (db, orgId, page) => listClients(db, orgId, page),
  },
  {
    name: "SCIM tokens",
    table: "scim_token",
    index: "scim_token_org_created",
    read: (db, orgId, page) => listScimTokens(db, orgId, page),
  },
  {
    name: "saved connections",
    table: "vault_connection",
    index: "vault_connection_org_created",
    read: (db, orgId, page) => listConnections(db, orgId, page),
  },
  {
    name: "access requests",
    table: "mcp_access_request",
    index: "mcp_access_request_org_created_idx",
    read: (db, orgId, page) => listAccessRequests(db, orgId, {}, page),
  },
  {
    name: "access requests of one status",
    table: "mcp_access_request",
    index: "mcp_access_request_org_status_created_idx",
    read: (db, orgId, page) => listAccessRequests(db, orgId, { status: "approved" }, page),
  },
  {
    name: "access requests of one agent",
    table: "mcp_access_request",
    index: "mcp_access_request_client_created_idx",
    read: (db, orgId, page) => listAccessRequests(db, orgId, { clientId: "agent" }, page),
  },
  {
    name: "MCP grants",
    table: "mcp_grant",
    index: "mcp_grant_org_created_idx",
    read: (db, orgId, page) => listMcpGrants(db, orgId, {}, page),
  },
  {
    name: "MCP grants of one status",
    table: "mcp_grant",
    index: "mcp_grant_org_status_created_idx",
    read: (db, orgId, page) => listMcpGrants(db, orgId, { status: "active" }, page),
  },
  {
    name: "MCP grants of one agent",
    table: "mcp_grant",
    index: "mcp_grant_client_created_idx",
    read: (db, orgId, page) => listMcpGrants(db, orgId, { clientId: "agent" }, page),
  },
  {
    name: "host invites",
    table: "host_invite",
    index: "host_invite_org_created_idx",
    read: (db, orgId, page) => listInvites(db, { orgId, now: new Date() }, page),
  },
  {
    name: "pending host invites",
    table: "host_invite",
    index: "host_invite_org_created_idx",
    read: (db, orgId, page) => listInvites(db, { orgId, now: new Date(), state: "pending" }, page),
  },
  {
    name: "delegation grants",
    table: "delegation_grant",
    index: "delegation_grant_org_created_idx",
    read: (db, orgId, page) => listDelegationGrants(db, orgId, {}, page),
  },
  {
    name: "delegation grants of one subject",
    table: "delegation_grant",
    index: "delegation_grant_subject_created_idx",
    read: (db, orgId, page) => listDelegationGrants(db, orgId, { subject: "user" }, page),
  },
  {
    name: "delegation grants of one actor",
    table: "delegation_grant",
    index: "delegation_grant_actor_created_idx",
    read: (db, orgId, page) => listDelegationGrants(db, orgId, { actorClientId: "agent" }, page),
  },
  {
    // Before migration 0031 the pair's rows came from (org, subject, actor) and were sorted in a temp B-tree.
    name: "delegation grants of one subject to one actor",
    table: "delegation_grant",
    index: "delegation_grant_parties_created_idx",
    read: (db, orgId, page) => listDelegationGrants(db, orgId, { subject: "user", actorClientId: "agent" }, page),
  },
];

describe.each(CASES)("the page query of $name", (list) => {
  it.each([
    ["the first page", FIRST],
    ["a page after a cursor", AFTER],
  ])("%s seeks its index and sorts nothing", async (_, page) => {
    const sent: SentStatement[] = [];
    await list.read(recordingDb(sent), "org-plan", page);
    expectIndexed(await plansOf(sent, list.table), list.table, list.index, page.after !== undefined);
  });
});

// The index that replaced delegation_grant_lookup_idx still serves the read
// every acting token exchange makes (grants/delegation-grants.ts).
it("an exchange's read of one subject's live grants to one actor seeks the parties' index", async () => {
  const sent: SentStatement[] = [];
  await liveDelegationGrants(
    recordingDb(sent),
    { orgId: "org-plan", subject: "user", actorClientId: "agent" },
    new Date(Date.UTC(2026, 0, 1)),
  );
  const plans = await plansOf(sent, "delegation_grant");
  for (const plan of plans) {
    expect(plan).toMatch(
      /SEARCH delegation_grant USING INDEX delegation_grant_parties_created_idx \(org_id=\? AND subject=\? AND actor_client_id=\?\)/,
    );
  }
});
