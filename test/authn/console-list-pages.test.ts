// The console's org and vault pages show the whole list of an org's clients
// and saved connections, though the admin API answers them a page at a time
// (docs/endpoints.md "Paged lists"): the console follows next_cursor
// (workers/authn/src/console/admin-call.ts adminListAll). More rows than
// the API's largest page (500) are written straight to D1.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { get, signUp } from "./helpers.ts";

const ROWS = 502;

/** INSERTs of at most 100 bound parameters each (D1's cap), in one batch. */
async function insertRows(table: string, columns: string[], rows: unknown[][]): Promise<void> {
  const perStatement = Math.floor(100 / columns.length);
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < rows.length; i += perStatement) {
    const chunk = rows.slice(i, i + perStatement);
    const placeholders = chunk.map(() => `(${columns.map(() => "?").join(", ")})`).join(", ");
    statements.push(
      env.DB.prepare(`INSERT INTO ${table} (${columns.join(", ")}) VALUES ${placeholders}`).bind(...chunk.flat()),
    );
  }
  await env.DB.batch(statements);
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
      [
        ...["client_id", "org_id", "name", "type", "auth_method", "secret_hash", "grant_types", "scopes"],
        ...["audiences", "status", "created_at", "updated_at"],
      ],
      ids.map((id) => [
        ...[id, owner.orgId, id, "machine", "client_secret_basic", "unused", "client_credentials", "documents:read"],
        ...["https://api.example.test", "active", at, at],
      ]),
    );
    await insertRows(
      "vault_connection",
      [
        ...["id", "org_id", "provider_id", "resource", "owner_kind", "owner_id", "token_endpoint", "client_id"],
        ...["access_token_sealed", "token_type", "scopes", "created_by", "created_at", "updated_at"],
      ],
      ids.map((id) => [
        ...[id, owner.orgId, "provider-unused", "https://upstream.example.test", "user", `user-${id}`],
        ...["https://upstream.example.test/token", "upstream-client", "sealed-unused", "Bearer", "", "test", at, at],
      ]),
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
