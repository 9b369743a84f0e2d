// The console's org, vault and MCP pages show an org's clients, saved
// connections, access requests and MCP grants a page at a time: one render
// reads one page of the admin API (workers/authn/src/console/admin-call.ts
// adminListPage, CONSOLE_PAGE_ROWS rows), however long the list, and links
// the next rows with the API's cursor (docs/endpoints.md "Paged lists").
// Following the links shows every row once. More rows than the API's largest page (500) are written
// straight to D1, all in one millisecond.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { CONSOLE_PAGE_ROWS } from "../../workers/authn/src/console/admin-call.ts";
import {
  accessRequestRow,
  clientRow,
  connectionRow,
  insertStatements,
  mcpGrantRow,
  type Row,
} from "../support/list-rows.ts";
import { get, signUp } from "./helpers.ts";

const ROWS = 502;

/** Rows of one shape, in one batch. */
async function insertRows(table: string, rows: Row[]): Promise<void> {
  await env.DB.batch(insertStatements(table, rows).map(({ sql, params }) => env.DB.prepare(sql).bind(...params)));
}

/** The text of each row's cell that names it, in page order. */
function rowIds(html: string, testId: string, prefix: string): string[] {
  return html
    .split(`data-testid="${testId}"`)
    .slice(1)
    .map((row) => new RegExp(`(${prefix}[A-Za-z0-9_-]+)`).exec(row)?.[1] ?? "");
}

/** The page's "More rows" link, HTML-unescaped; null on the last page. */
function nextLink(html: string, testId: string): string | null {
  const match = new RegExp(`<a href="([^"]+)" data-testid="${testId}-next"`).exec(html);
  return match ? (match[1] as string).replaceAll("&amp;", "&") : null;
}

/** Every render from the page's first, following "More rows": each one's rows. */
async function walk(cookie: string, url: string, testIds: { row: string; pages: string }, prefix: string) {
  const renders: string[][] = [];
  let next: string | null = url;
  while (next !== null) {
    const page = await get(next, { Cookie: cookie });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).not.toContain('data-testid="problem"');
    renders.push(rowIds(html, testIds.row, prefix));
    next = nextLink(html, testIds.pages);
    if (renders.length > 1) expect(html).toContain(`<a href="${url}">First rows</a>`);
    expect(renders.length).toBeLessThanOrEqual(ROWS);
  }
  return renders;
}

describe("the console shows a paged list a page at a time", () => {
  it(`the org page's ${ROWS} clients and the vault page's ${ROWS} connections: ${CONSOLE_PAGE_ROWS} a render, each once`, async () => {
    const owner = await signUp("Many Clients");
    const at = Date.UTC(2026, 0, 1);
    const ids = Array.from({ length: ROWS }, (_, i) => `mac_page_${String(i).padStart(3, "0")}_${owner.orgId}`);
    // Inserted in reverse, all in one millisecond: only the id orders them.
    await insertRows(
      "oauth_client",
      [...ids].reverse().map((id) => clientRow(owner.orgId, id, at)),
    );
    await insertRows(
      "vault_connection",
      [...ids].reverse().map((id) => connectionRow(owner.orgId, id, at)),
    );

    for (const [url, testIds] of [
      [`${ENDPOINT.console}/orgs/${owner.orgId}`, { row: "client-row", pages: "clients-pages" }],
      [
        `${ENDPOINT.console}/orgs/${owner.orgId}/vault`,
        { row: "vault-connection-row", pages: "vault-connections-pages" },
      ],
    ] as const) {
      const renders = await walk(owner.cookie, url, testIds, "mac_page_");
      expect(renders.map((rows) => rows.length)).toEqual([100, 100, 100, 100, 100, 2]);
      expect(renders.flat()).toEqual(ids);
    }
  });

  it("the MCP page's access requests and grants, newest first: a page of each, More rows reads on", async () => {
    const owner = await signUp("Many Requests");
    const at = Date.UTC(2026, 0, 1);
    // 103 of each, all in one millisecond: newest first, the id orders them descending.
    const ids = Array.from({ length: 103 }, (_, i) => `mcp_page_${String(i).padStart(3, "0")}_${owner.orgId}`);
    // Each row's agent (the cell the page shows) is its own id.
    await insertRows(
      "mcp_access_request",
      ids.map((id) => ({ ...accessRequestRow(owner.orgId, id, at), client_id: id })),
    );
    await insertRows(
      "mcp_grant",
      ids.map((id) => ({ ...mcpGrantRow(owner.orgId, id, at), client_id: id })),
    );
    const url = `${ENDPOINT.console}/orgs/${owner.orgId}/mcp`;
    for (const testIds of [
      { row: "access-request-row", pages: "access-requests-pages" },
      { row: "mcp-grant-row", pages: "mcp-grants-pages" },
    ]) {
      const renders = await walk(owner.cookie, url, testIds, "mcp_page_");
      expect(renders.map((rows) => rows.length)).toEqual([100, 3]);
      expect(renders.flat()).toEqual([...ids].reverse());
    }
  });

  it("a list of one page has no page links; a cursor the API never gave shows its refusal, no rows", async () => {
    const owner = await signUp("Few Clients");
    await insertRows("oauth_client", [clientRow(owner.orgId, `mac_one_${owner.orgId}`, Date.now())]);
    const url = `${ENDPOINT.console}/orgs/${owner.orgId}`;

    const page = await get(url, { Cookie: owner.cookie });
    const html = await page.text();
    expect(rowIds(html, "client-row", "mac_one_")).toEqual([`mac_one_${owner.orgId}`]);
    expect(html).not.toContain('data-testid="clients-pages"');

    const bad = await get(`${url}?clients_cursor=not-a-cursor`, { Cookie: owner.cookie });
    // The API's refusal, status and all (the console answers a page with a problem with its status).
    expect(bad.status).toBe(400);
    const badHtml = await bad.text();
    expect(badHtml).toContain("cursor: not a cursor this API returned <code>(invalid_query)</code>");
    expect(badHtml).not.toContain('data-testid="client-row"');
  });
});
