// The console's vault provider form takes the optional RFC 7009
// revocation_endpoint (9a50dcf) at create and on each provider's row, and
// passes it to the admin API, which checks it: a refused URL is the API's
// 400 invalid_body, shown on the page under that status, and nothing is written.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { form, ORIGIN, signUp } from "./helpers.ts";

type Person = Awaited<ReturnType<typeof signUp>>;

const REVOKE = "https://provider.example.com/oauth/revoke";
// The outbound URL guard's refusals (shared/http/outbound-url.ts): not https, and a link-local host.
const REFUSED = ["http://provider.example.com/revoke", "https://169.254.169.254/revoke"];

function post(person: Person, path: string, fields: Record<string, string>) {
  return form(`${ENDPOINT.console}/orgs/${person.orgId}/vault${path}`, fields, {
    Cookie: person.cookie,
    Origin: ORIGIN,
  });
}

function provider(name: string, revocation?: string): Record<string, string> {
  return {
    name,
    authorization_endpoint: "https://provider.example.com/authorize",
    token_endpoint: "https://provider.example.com/token",
    ...(revocation === undefined ? {} : { revocation_endpoint: revocation }),
    client_id: "console-client",
    client_secret: "",
    scopes: "read",
    resource: "demo-echo",
  };
}

async function stored(orgId: string, name: string) {
  return env.DB.prepare(
    "SELECT id, revocation_endpoint AS revocation FROM vault_provider WHERE org_id = ? AND name = ?",
  )
    .bind(orgId, name)
    .first<{ id: string; revocation: string | null }>();
}

async function expectRefused(response: Response) {
  expect(response.status).toBe(400);
  const page = await response.text();
  expect(page).toMatch(/data-testid="problem">[^<]*revocation_endpoint[^<]*<code>\(invalid_body\)<\/code>/);
}

describe("console: a vault provider's revocation endpoint", () => {
  it("creates a provider with it, and without it (empty field) as none", async () => {
    const owner = await signUp("Vault Admin");
    const created = await post(owner, "/providers", provider("with-revocation", REVOKE));
    expect(created.status).toBe(200);
    expect(await created.text()).toContain(`<code>${REVOKE}</code>`);
    expect((await stored(owner.orgId, "with-revocation"))?.revocation).toBe(REVOKE);

    expect((await post(owner, "/providers", provider("without-revocation", ""))).status).toBe(200);
    expect((await stored(owner.orgId, "without-revocation"))?.revocation).toBeNull();
  });

  it("refuses a URL the admin API refuses: its 400 invalid_body, no provider written", async () => {
    const owner = await signUp("Vault Admin");
    for (const [i, url] of REFUSED.entries()) {
      await expectRefused(await post(owner, "/providers", provider(`refused-${i}`, url)));
      expect(await stored(owner.orgId, `refused-${i}`)).toBeNull();
    }
  });

  it("sets, refuses and removes it on an existing provider", async () => {
    const owner = await signUp("Vault Admin");
    expect((await post(owner, "/providers", provider("later"))).status).toBe(200);
    const id = (await stored(owner.orgId, "later"))?.id ?? "";
    const at = `/providers/${encodeURIComponent(id)}/revocation-endpoint`;

    expect((await post(owner, at, { revocation_endpoint: REVOKE })).status).toBe(200);
    expect((await stored(owner.orgId, "later"))?.revocation).toBe(REVOKE);

    for (const url of REFUSED) await expectRefused(await post(owner, at, { revocation_endpoint: url }));
    expect((await stored(owner.orgId, "later"))?.revocation).toBe(REVOKE);

    const removed = await post(owner, at, { revocation_endpoint: "" });
    expect(removed.status).toBe(200);
    expect(await removed.text()).toContain("no revocation endpoint");
    expect((await stored(owner.orgId, "later"))?.revocation).toBeNull();
  });
});
