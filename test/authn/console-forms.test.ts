// The console's forms and pages against a hostile page elsewhere
// (docs/endpoints.md, "Console, health, request ids"): every console POST, read from the Worker's
// router so a new form is covered without being listed here, is refused
// 403 cross_origin_post without this origin's Origin (a form another site
// posts with the operator's cookie, a sandboxed one's `null`, none at all);
// every console answer is unframable (CSP frame-ancestors, X-Frame-Options)
// and never stored; a secret shown once is on the answer to its form only;
// a name an org's people choose is text, never markup; a form the admin
// API refused, and a page whose reads it refused, is answered under the
// refusal's status.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ConsoleAdminBinding } from "../../shared/contracts/console-admin.ts";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { consoleApp } from "../../workers/authn/src/console/app.tsx";
import authn from "../../workers/authn/src/index.ts";
import { form, get, ORIGIN, signUp } from "./helpers.ts";

const CONSOLE_POSTS = authn.routes.filter(
  (r) => r.method === "POST" && r.path.startsWith(`${ENDPOINT.console}/`) && !r.path.endsWith("*"),
);
// The console's own router, whose GETs are its pages (the Worker's also holds each form path's 405 as a GET).
const CONSOLE_PAGES = consoleApp()
  .routes.filter((r) => r.method === "GET")
  .map((r) => ({ path: `${ENDPOINT.console}${r.path}` }));
const CONSOLE_ORG_PAGES = CONSOLE_PAGES.filter((r) => r.path.startsWith(`${ENDPOINT.console}/orgs/:org`));
const HOSTILE = `<script>alert(1)</script>"'><img src=x onerror=alert(1)>`;

function expectConsoleHeaders(response: Response): void {
  expect(response.headers.get("Content-Security-Policy")).toContain("frame-ancestors 'none'");
  expect(response.headers.get("Content-Security-Policy")).toMatch(/script-src 'nonce-[^']+'(;|$)/);
  expect(response.headers.get("X-Frame-Options")).toBe("DENY");
  expect(response.headers.get("Cache-Control")).toBe("no-store");
}

describe("the console's forms", () => {
  it("reads its forms from the router", () => {
    expect(CONSOLE_POSTS.map((r) => r.path)).toContain(`${ENDPOINT.console}/orgs/:org/clients`);
    expect(CONSOLE_POSTS.length).toBeGreaterThan(20);
  });

  it("refuses every console POST 403 cross_origin_post without this origin's Origin, the operator's cookie or not", async () => {
    const owner = await signUp("Console Owner");
    for (const { path } of CONSOLE_POSTS) {
      const url = path.replace(":org", owner.orgId).replace(/:\w+/g, "x");
      const origins: Record<string, string>[] = [{ Origin: "https://evil.example" }, { Origin: "null" }, {}];
      for (const origin of origins) {
        const response = await form(url, { name: "x", kind: "org" }, { Cookie: owner.cookie, ...origin });
        expect([url, origin, response.status]).toEqual([url, origin, 403]);
        expect(await response.json()).toMatchObject({ error: "cross_origin_post" });
        expectConsoleHeaders(response);
      }
    }
  });

  it("shows a client's secret on the answer to its form only (no-store, no redirect), its name as text", async () => {
    const owner = await signUp(HOSTILE);
    const created = await form(
      `${ENDPOINT.console}/orgs/${owner.orgId}/clients`,
      { name: HOSTILE, type: "agent", scopes: "documents:read" },
      { Cookie: owner.cookie, Origin: ORIGIN },
    );
    expect(created.status).toBe(200);
    expect(created.headers.get("Location")).toBeNull();
    expectConsoleHeaders(created);
    const page = await created.text();
    const secret = /data-testid="client-secret">\s*(mas_[\w-]+)/.exec(page)?.[1];
    expect(secret).toMatch(/^mas_/);
    expect(page).not.toContain("<script>alert(1)");
    expect(page).not.toContain("<img src=x");
    expect(page).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");

    const later = await get(`${ENDPOINT.console}/orgs/${owner.orgId}`, { Cookie: owner.cookie });
    expect(later.status).toBe(200);
    expectConsoleHeaders(later);
    const laterPage = await later.text();
    expect(laterPage).not.toContain(secret);
    // The members table names the owner as they chose, as text.
    expect(laterPage).not.toContain("<img src=x");
  });

  it("an org admin's form against another org's objects is the admin API's refusal, nothing made there", async () => {
    const [mine, theirs] = [await signUp("Admin A"), await signUp("Admin B")];
    const response = await form(
      `${ENDPOINT.console}/orgs/${theirs.orgId}/clients`,
      { name: "planted", type: "agent", scopes: "documents:read" },
      { Cookie: mine.cookie, Origin: ORIGIN },
    );
    expect(response.status).toBe(403);
    expectConsoleHeaders(response);
    const page = await response.text();
    expect(page).toContain("<code>(forbidden)</code>");
    expect(page).not.toContain('data-testid="client-secret"');
    const planted = await env.DB.prepare("SELECT count(*) AS n FROM oauth_client WHERE org_id = ?")
      .bind(theirs.orgId)
      .first<{ n: number }>();
    expect(planted?.n).toBe(0);
  });

  it("answers a refused form under the refusal's status: an unknown client 404, a policy that is not JSON 400", async () => {
    const owner = await signUp("Console Owner");
    const headers = { Cookie: owner.cookie, Origin: ORIGIN };
    const unknown = await form(`${ENDPOINT.console}/orgs/${owner.orgId}/clients/mac_unknown/disable`, {}, headers);
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain("<code>(not_found)</code>");
    const notJson = await form(`${ENDPOINT.console}/orgs/${owner.orgId}/policies`, { document: "{" }, headers);
    expect(notJson.status).toBe(400);
    expect(await notJson.text()).toContain("<code>(invalid_body)</code>");
    // A page read with GETs only stays 200, whatever one of its panels could not show.
    const page = await get(`${ENDPOINT.console}/orgs/${owner.orgId}`, { Cookie: owner.cookie });
    expect(page.status).toBe(200);
  });
});

describe("the console's pages", () => {
  const pageUrl = (path: string, org: string) => path.replace(":org", org).replace(":version", "1");

  it("answers another org's page as the admin API does, 403 forbidden with its notice, an unknown org's 404", async () => {
    const paths = CONSOLE_ORG_PAGES.map((r) => r.path);
    expect(paths).toContain(`${ENDPOINT.console}/orgs/:org`);
    expect(paths).toContain(`${ENDPOINT.console}/orgs/:org/vault`);
    expect(paths.length).toBeGreaterThanOrEqual(7);
    const [mine, theirs, operator] = [await signUp("Admin A"), await signUp("Admin B"), await signUp("Operator")];
    await env.DB.prepare("INSERT INTO platform_operator (user_id, email, created_at) VALUES (?, ?, ?)")
      .bind(operator.userId, operator.email, Date.now())
      .run();
    const unknownOrg = `org-${crypto.randomUUID()}`;
    for (const { path } of CONSOLE_ORG_PAGES) {
      const stream = path.endsWith("/stream");
      const foreign = await get(pageUrl(path, theirs.orgId), { Cookie: mine.cookie });
      expect([path, foreign.status]).toEqual([path, 403]);
      expectConsoleHeaders(foreign);
      // The page and its notice as before, with none of the other org's data.
      if (!stream) expect(await foreign.text()).toContain("<code>(forbidden)</code>");
      const unknown = await get(pageUrl(path, unknownOrg), { Cookie: operator.cookie });
      expect([path, unknown.status]).toEqual([path, 404]);
      if (!stream) expect(await unknown.text()).toContain("<code>(not_found)</code>");
      else await unknown.body?.cancel();
    }
    // The admin API's own answers to the same people for the same orgs, through the console's binding.
    const admin = async (person: { sessionId: string }, org: string) => {
      const row = await env.DB.prepare("SELECT token FROM session WHERE id = ?")
        .bind(person.sessionId)
        .first<{ token: string }>();
      const request = new Request(`${env.ISSUER}${ENDPOINT.admin}/orgs/${org}/clients`);
      return (await (env.CONSOLE_ADMIN as unknown as ConsoleAdminBinding).fetchAs(row?.token ?? "", request)).status;
    };
    expect([await admin(mine, theirs.orgId), await admin(operator, unknownOrg)]).toEqual([403, 404]);
  });

  it("answers an org admin's other pages as the admin API does: the platform's 403, its own overview 200", async () => {
    const [mine, theirs] = [await signUp("Admin A"), await signUp("Admin B")];
    // Each page that names no org in its path, and the status for an org admin asking it about another org.
    const expected: Record<string, [string, number]> = {
      [`${ENDPOINT.console}/`]: [ENDPOINT.console, 200],
      [`${ENDPOINT.console}/users`]: [`${ENDPOINT.console}/users`, 403],
      [`${ENDPOINT.console}/keys`]: [`${ENDPOINT.console}/keys`, 403],
      [`${ENDPOINT.console}/audit`]: [`${ENDPOINT.console}/audit?org=${theirs.orgId}`, 403],
    };
    const others = CONSOLE_PAGES.filter((r) => !CONSOLE_ORG_PAGES.includes(r)).map((r) => r.path);
    expect(others.sort()).toEqual(Object.keys(expected).sort());
    for (const [path, [url, status]] of Object.entries(expected)) {
      const page = await get(url, { Cookie: mine.cookie });
      expect([path, page.status]).toEqual([path, status]);
      const html = await page.text();
      if (status === 403) expect(html).toContain("<code>(forbidden)</code>");
    }
  });

  it("still answers a person's own org's pages 200", async () => {
    const owner = await signUp("Console Owner");
    for (const { path } of CONSOLE_ORG_PAGES) {
      if (path.endsWith("/stream") || path.includes(":version")) continue;
      // A connect link's page without a link is that refusal (400 invalid_connect_link): test/e2e/vault-connect-link.test.ts.
      if (path.endsWith("/vault/confirm")) continue;
      const page = await get(pageUrl(path, owner.orgId), { Cookie: owner.cookie });
      expect([path, page.status]).toEqual([path, 200]);
      await page.body?.cancel();
    }
  });
});
