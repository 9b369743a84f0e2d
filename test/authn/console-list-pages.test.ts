// The console's org and vault pages show the whole list of an org's clients
// and saved connections, though the admin API answers them a page at a time
// (docs/endpoints.md "Paged lists"): the console follows next_cursor
// (workers/authn/src/console/admin-call.ts adminListAll). More rows than
// the API's largest page (500) are written straight to D1.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { clientRow, connectionRow, insertStatements, type Row } from "../support/list-rows.ts";
import { get, signUp } from "./helpers.ts";

const ROWS = 502;

/** Rows of one shape, in one batch. */
async function insertRows(table: string, rows: Row[]): Promise<void> {
  await env.DB.batch(insertStatements(table, rows).map(({ sql, params }) => env.DB.prepare(sql).bind(...params)));
}

function rowsOf(html: string, testId: string): number {
  return html.split(`data-testid="${testId}"`).length - 1;
}

describe("the console shows every page of a paged list", () => {
  it(`the org page lists all ${ROWS} clients and the vault page all ${ROWS} saved connections`, async () => {
    const owner = await signUp("Many Clients");
    const at = Date.UTC(2026, 0, 1);
    const ids = Array.from({ length: ROWS }, (_, i) => `mac_page_${String(i).padStart(3, "0")}_${owner.orgId}`);
    await insertRows(
      "oauth_client",
      ids.map((id) => clientRow(owner.orgId, id, at)),
    );
    await insertRows(
      "vault_connection",
      ids.map((id) => connectionRow(owner.orgId, id, at)),
    );

    const orgPage = await get(`${ENDPOINT.console}/orgs/${owner.orgId}`, { Cookie: owner.cookie });
    expect(orgPage.status).toBe(200);
    const orgHtml = await orgPage.text();
    expect(rowsOf(orgHtml, "client-row")).toBe(ROWS);
    expect(orgHtml).toContain(ids[0]);
    expect(orgHtml).toContain(ids[ROWS - 1]);

    const vaultPage = await get(`${ENDPOINT.console}/orgs/${owner.orgId}/vault`, { Cookie: owner.cookie });
    expect(vaultPage.status).toBe(200);
    expect(rowsOf(await vaultPage.text(), "vault-connection-row")).toBe(ROWS);
  });
});
