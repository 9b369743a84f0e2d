// `mono-auth client list`, `scim token list`, `vault connection list` (oldest
// first), `access-request list`, `invite list`, `mcp grant list` and
// `delegation-grant list` (newest first) against the
// locally served system, now that the admin API pages these lists
// (workers/token/src/admin/page.ts): without flags the CLI follows
// every page, so `list` is still the whole list; `--limit`/`--cursor` ask
// for one page and the table says how to read on. Rows are written through
// the harness's D1 (more than one page of them, all in one millisecond).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectCliRefusal } from "../support/cli-refusal.ts";
import {
  accessRequestRow,
  clientRow,
  connectionRow,
  delegationGrantRow,
  insertStatements,
  inviteRow,
  mcpGrantRow,
  type Row,
  scimTokenRow,
} from "../support/list-rows.ts";
import { type OperatorCli, operatorCli } from "../support/operator-cli.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

let system: RunningSystem;
let operator: OperatorCli;

beforeAll(async () => {
  system = await startSystem();
  operator = await operatorCli(system, "list-pages");
});
afterAll(() => system?.close());

/** Past the API's default page of 100: following pages is what lists them all. */
const ROWS = 103;

interface Noun {
  name: string;
  command: string[];
  key: string;
  idField: string;
  table: string;
  row: (orgId: string, id: string, at: number) => Row;
  /** The list's order: rows of one millisecond by id, ascending or descending. */
  newestFirst?: true;
  /** A filter every row here passes, and one none does. */
  filters?: { every: string[]; none: string[] };
}

const NOUNS: Noun[] = [
  {
    name: "client list",
    command: ["client", "list"],
    key: "clients",
    idField: "client_id",
    table: "oauth_client",
    row: clientRow,
  },
  {
    name: "scim token list",
    command: ["scim", "token", "list"],
    key: "scim_tokens",
    idField: "id",
    table: "scim_token",
    row: scimTokenRow,
  },
  {
    name: "vault connection list",
    command: ["vault", "connection", "list"],
    key: "connections",
    idField: "id",
    table: "vault_connection",
    row: connectionRow,
  },
  {
    name: "access-request list",
    command: ["access-request", "list"],
    key: "access_requests",
    idField: "id",
    table: "mcp_access_request",
    row: accessRequestRow,
    newestFirst: true,
    filters: { every: ["--status", "approved"], none: ["--status", "denied"] },
  },
  {
    name: "invite list",
    command: ["invite", "list"],
    key: "invites",
    idField: "jti",
    table: "host_invite",
    row: inviteRow,
    newestFirst: true,
    // Each invite expired an hour after 2026-01-01.
    filters: { every: ["--state", "expired"], none: ["--state", "pending"] },
  },
  {
    name: "mcp grant list",
    command: ["mcp", "grant", "list"],
    key: "grants",
    idField: "id",
    table: "mcp_grant",
    row: mcpGrantRow,
    newestFirst: true,
    // Every grant is agent-unused's, active; both filters go with every page.
    filters: {
      every: ["--client", "agent-unused", "--status", "active"],
      none: ["--client", "agent-unused", "--status", "revoked"],
    },
  },
  {
    name: "delegation-grant list",
    command: ["delegation-grant", "list"],
    key: "grants",
    idField: "id",
    table: "delegation_grant",
    row: delegationGrantRow,
    newestFirst: true,
    // Every grant is user-unused's to agent-unused.
    filters: {
      every: ["--subject", "user-unused", "--actor", "agent-unused"],
      none: ["--subject", "user-unused", "--actor", "agent-other"],
    },
  },
];

/** The org's rows, ids in the order given, all created at `at`. */
async function insert(noun: Noun, orgId: string, ids: string[], at: number): Promise<void> {
  for (const { sql, params } of insertStatements(
    noun.table,
    ids.map((id) => noun.row(orgId, id, at)),
  )) {
    await system.execMain(sql, ...params);
  }
}

describe.each(NOUNS)("mono-auth $name pages", (noun) => {
  it("lists every row across pages without flags; --limit and --cursor read one page at a time", async () => {
    const orgId = (await operator.json<{ id: string }>("org", "create", "--name", `Pages ${noun.key}`)).id;
    const sorted = Array.from({ length: ROWS }, (_, i) => `page-${String(i).padStart(3, "0")}-${orgId.slice(-8)}`);
    // Inserted in reverse, all in one millisecond: only the id orders them.
    await insert(noun, orgId, [...sorted].reverse(), Date.UTC(2026, 0, 1));
    const ids = noun.newestFirst ? [...sorted].reverse() : sorted;
    const idsOf = (page: Record<string, unknown>) =>
      (page[noun.key] as Record<string, string>[]).map((item) => item[noun.idField]);

    const all = await operator.json<Record<string, unknown>>(...noun.command, "--org", orgId);
    expect(idsOf(all)).toEqual(ids);
    expect(all.next_cursor).toBeNull();

    const first = await operator.json<Record<string, unknown>>(...noun.command, "--org", orgId, "--limit", "100");
    expect(idsOf(first)).toEqual(ids.slice(0, 100));
    expect(first.next_cursor).toEqual(expect.any(String));
    const rest = await operator.json<Record<string, unknown>>(
      ...noun.command,
      ...["--org", orgId, "--cursor", first.next_cursor as string],
    );
    expect(idsOf(rest)).toEqual(ids.slice(100));
    expect(rest.next_cursor).toBeNull();

    const table = await operator.cli(...noun.command, "--org", orgId, "--limit", "2");
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain(ids[1]);
    expect(table.stdout).not.toContain(ids[2]);
    expect(table.stdout).toMatch(/\nmore: --cursor [A-Za-z0-9_-]+\n$/);

    if (noun.filters) {
      // The filter goes with every page the CLI follows, and with a --cursor page.
      const every = await operator.json<Record<string, unknown>>(
        ...noun.command,
        "--org",
        orgId,
        ...noun.filters.every,
      );
      expect(idsOf(every)).toEqual(ids);
      const page = await operator.json<Record<string, unknown>>(
        ...noun.command,
        ...["--org", orgId, ...noun.filters.every, "--cursor", first.next_cursor as string],
      );
      expect(idsOf(page)).toEqual(ids.slice(100));
      const none = await operator.json<Record<string, unknown>>(...noun.command, "--org", orgId, ...noun.filters.none);
      expect(idsOf(none)).toEqual([]);
    }
  });

  it("a page size past 500 is refused before any call; a cursor the API never gave is its 400 invalid_query", async () => {
    await expectCliRefusal(operator.cli(...noun.command, "--org", "org-any", "--limit", "501"), /from 1 to 500/);
    const orgId = (await operator.json<{ id: string }>("org", "create", "--name", `Bad cursor ${noun.key}`)).id;
    await expectCliRefusal(
      operator.cli(...noun.command, "--org", orgId, "--cursor", "not-a-cursor"),
      /\(400 invalid_query\): cursor: not a cursor this API returned/,
    );
  });
});

describe("mono-auth mcp grant list", () => {
  it("a --status the API does not know is refused before any call", async () => {
    await expectCliRefusal(
      operator.cli("mcp", "grant", "list", "--org", "org-any", "--status", "expired"),
      /--status <status>' argument 'expired' is invalid\. Use one of active, revoked\./,
    );
  });
});
