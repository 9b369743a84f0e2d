// An operator's vault connect link end to end over HTTP: the whole system
// (test/support/system.ts), a third-party OAuth provider on 127.0.0.1
// (test/support/vault-provider-server.ts), the `mono-auth` CLI as the
// operator and browser-like clients as people. The CLI prints a link to our
// confirmation page, never the provider's: only a signed-in admin or owner of
// the org confirms it (a same-origin POST), which binds the flow to their
// session before the browser goes to the provider; anyone else is refused and
// the link stays as it was; a spent link is refused on every later use.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { VAULT_CONNECT_LINK, VAULT_DEMO, VAULT_PATH } from "../../shared/contracts/vault.ts";
import { BrowserLikeClient } from "../support/browser-like-client.ts";
import { type OperatorCli, operatorCli } from "../support/operator-cli.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";
import { type ProviderServer, startProviderServer } from "../support/vault-provider-server.ts";

const PASSWORD = "correct horse battery staple";

let system: RunningSystem;
let provider: ProviderServer;
let operator: OperatorCli;

beforeAll(async () => {
  [system, provider] = await Promise.all([startSystem(), startProviderServer()]);
  operator = await operatorCli(system, "vault-link");
});

afterAll(async () => {
  await Promise.all([system?.close(), provider?.close()]);
});

interface Person {
  client: BrowserLikeClient;
  email: string;
  userId: string;
  orgId: string;
}

/** A person signed up through Better Auth's API, owner of an org of their own unless `ownOrg` is false. */
async function person(options: { ownOrg?: boolean } = {}): Promise<Person> {
  const client = new BrowserLikeClient(system);
  const email = `vault-link-${crypto.randomUUID().slice(0, 8)}@example.com`;
  if (options.ownOrg !== false) return { client, email, ...(await client.signUp(email, PASSWORD)) };
  const signUp = await client.postJson("/api/auth/sign-up/email", { name: "Grace Hopper", email, password: PASSWORD });
  expect(signUp.status).toBe(200);
  const { user } = (await signUp.json()) as { user: { id: string } };
  return { client, email, userId: user.id, orgId: "" };
}

/** `member` joins `owner`'s org with `role`, through the invitation API. */
async function join(owner: Person, member: Person, role: "member" | "admin"): Promise<void> {
  const invite = await owner.client.postJson("/api/auth/organization/invite-member", {
    email: member.email,
    role,
    organizationId: owner.orgId,
  });
  expect(invite.status).toBe(200);
  const { id: invitationId } = (await invite.json()) as { id: string };
  // Accepting needs the invited address verified (test/authn/org-invitation.test.ts); not what this tests.
  await system.execMain("UPDATE user SET email_verified = 1 WHERE email = ?", member.email);
  const accepted = await member.client.postJson("/api/auth/organization/accept-invitation", { invitationId });
  expect(accepted.status).toBe(200);
}

/** A second browser of the same person: signed in through the sign-in page. */
async function signedIn(who: Person): Promise<BrowserLikeClient> {
  const client = new BrowserLikeClient(system);
  const answer = await client.request(ENDPOINT.signIn, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ email: who.email, password: PASSWORD }),
  });
  expect(answer.status).toBe(303);
  expect(answer.headers.get("Location")).toBe(ENDPOINT.app);
  return client;
}

async function upstreamProvider(orgId: string): Promise<{ id: string }> {
  return operator.json<{ id: string }>(
    ...["vault", "provider", "create", "--org", orgId, "--name", "upstream", "--resource", VAULT_DEMO.resource],
    ...["--authorization-endpoint", `${provider.origin}/authorize`, "--token-endpoint", `${provider.origin}/token`],
    ...["--client-id", "vault-test-client", "--client-secret", "vault-test-secret", "--scopes", "read"],
  );
}

/** `mono-auth vault provider connect`: the confirmation link, as a path and query on the one origin. */
async function connectLink(orgId: string, providerId: string): Promise<string> {
  const started = await operator.json<{ confirmation_url: string; authorization_url?: string }>(
    ...["vault", "provider", "connect", "--org", orgId, "--id", providerId],
  );
  expect(started.authorization_url).toBeUndefined();
  const url = new URL(started.confirmation_url);
  expect(url.origin).toBe(system.origin);
  expect(url.pathname).toBe(VAULT_CONNECT_LINK.path(orgId));
  return `${url.pathname}${url.search}`;
}

function linkValue(link: string): string {
  return new URL(link, system.origin).searchParams.get(VAULT_CONNECT_LINK.param) ?? "";
}

/** The confirming form post, as the page sends it (same origin). */
function confirm(client: BrowserLikeClient, link: string): Promise<Response> {
  return client.request(new URL(link, system.origin).pathname, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ [VAULT_CONNECT_LINK.param]: linkValue(link) }),
  });
}

/** The browser at the provider: it approves at once and sends the browser back to our callback. */
async function atProvider(authorizationUrl: string): Promise<string> {
  const url = new URL(authorizationUrl);
  expect(url.origin).toBe(provider.origin);
  const back = await provider.fetch(`${url.pathname}${url.search}`);
  expect(back.status).toBe(302);
  const callback = new URL(back.headers.get("Location") ?? "");
  expect(`${callback.origin}${callback.pathname}`).toBe(`${system.origin}${VAULT_PATH.callback}`);
  return `${callback.pathname}${callback.search}`;
}

async function expectRefusedPage(response: Response, status: number, code: string): Promise<void> {
  expect(response.status).toBe(status);
  const page = await response.text();
  expect(page).toContain(`<code>(${code})</code>`);
  expect(page).not.toContain(`name="${VAULT_CONNECT_LINK.param}"`);
}

describe("an operator's vault connect link", () => {
  it("is printed by the CLI as our confirmation page, which says what happens; the provider is not reached", async () => {
    const owner = await person();
    const created = await upstreamProvider(owner.orgId);
    const printed = await operator.cli("vault", "provider", "connect", "--org", owner.orgId, "--id", created.id);
    expect(printed.code, printed.stderr).toBe(0);
    expect(printed.stdout).toContain(`${system.origin}${VAULT_CONNECT_LINK.path(owner.orgId)}?link=`);
    expect(printed.stdout).toContain("admin or owner of the org");
    expect(printed.stdout).not.toContain(provider.origin);
    const requests = (await (await provider.fetch("/requests")).json()) as unknown[];

    const page = await owner.client.request(await connectLink(owner.orgId, created.id));
    expect(page.status).toBe(200);
    // The form goes to our page, then on to the provider only: CSP form-action names exactly those.
    expect(page.headers.get("Content-Security-Policy")).toContain(`form-action 'self' ${provider.origin};`);
    const html = await page.text();
    expect(html).toContain('data-testid="vault-confirm"');
    expect(html).toContain("Analytical Engines");
    expect(html).toContain("<strong>upstream</strong>");
    expect(html).toMatch(/data-testid="vault-confirm-scopes">read</);
    expect(html).toContain("The provider account you approve will be saved for the whole organization");
    expect(((await (await provider.fetch("/requests")).json()) as unknown[]).length).toBe(requests.length);
  });

  it("sends a browser without a session to sign in, and back to the link after it", async () => {
    const owner = await person();
    const created = await upstreamProvider(owner.orgId);
    const link = await connectLink(owner.orgId, created.id);
    const browser = new BrowserLikeClient(system);
    const opened = await browser.request(link);
    expect(opened.status).toBe(303);
    expect(opened.headers.get("Location")).toBe(ENDPOINT.signIn);
    const signIn = await browser.request(ENDPOINT.signIn, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ email: owner.email, password: PASSWORD }),
    });
    expect(signIn.status).toBe(303);
    expect(signIn.headers.get("Location")).toBe(ENDPOINT.app);
    const landed = await browser.request(ENDPOINT.app);
    expect(landed.status).toBe(303);
    expect(landed.headers.get("Location")).toBe(link);
    const page = await browser.request(link);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('data-testid="vault-confirm"');
    // Once: the next visit to /app is the app page itself.
    expect((await browser.request(ENDPOINT.app)).status).toBe(200);
  });

  it("refuses a non-member and a member who is not an admin (403 page), leaving the link for its admin", async () => {
    const owner = await person();
    const created = await upstreamProvider(owner.orgId);
    const link = await connectLink(owner.orgId, created.id);

    // Someone of no part in the org (an owner of another org): the admin API's 403 forbidden, page and post.
    const outsider = await person();
    await expectRefusedPage(await outsider.client.request(link), 403, "forbidden");
    await expectRefusedPage(await confirm(outsider.client, link), 403, "forbidden");

    // A plain member of the org who administers no org at all: the console's own 403 page, page and post.
    const member = await person({ ownOrg: false });
    await join(owner, member, "member");
    for (const answer of [await member.client.request(link), await confirm(member.client, link)]) {
      expect(answer.status).toBe(403);
      const page = await answer.text();
      expect(page).toContain('data-testid="console-refused"');
      expect(page).toContain("<code>(forbidden)</code>");
    }
    // A member of the org who is an admin of another org only (their own): the admin API's 403 for this org.
    const otherAdmin = await person();
    await join(owner, otherAdmin, "member");
    await expectRefusedPage(await otherAdmin.client.request(link), 403, "forbidden");
    await expectRefusedPage(await confirm(otherAdmin.client, link), 403, "forbidden");
    // Neither a page nor a post started anything: the admin confirms the same link.
    const confirmed = await confirm(owner.client, link);
    expect(confirmed.status).toBe(303);
    expect(new URL(confirmed.headers.get("Location") ?? "").origin).toBe(provider.origin);
  });

  it("once confirmed, goes to the provider and lands the org's connection; the link and its flow serve no second browser", async () => {
    const owner = await person();
    const admin = await person();
    await join(owner, admin, "admin");
    const created = await upstreamProvider(owner.orgId);

    // Round one: confirmed by the owner; a second browser holding the same link gets nothing from it.
    const first = await connectLink(owner.orgId, created.id);
    const confirmed = await confirm(owner.client, first);
    expect(confirmed.status).toBe(303);
    const authorization = new URL(confirmed.headers.get("Location") ?? "");
    expect(authorization.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authorization.searchParams.get("redirect_uri")).toBe(`${system.origin}${VAULT_PATH.callback}`);
    await expectRefusedPage(await admin.client.request(first), 400, "invalid_connect_link");
    await expectRefusedPage(await confirm(admin.client, first), 400, "invalid_connect_link");
    const stolen = await admin.client.request(await atProvider(authorization.toString()));
    expect(stolen.status).toBe(400);
    expect(await stolen.json()).toMatchObject({ error: "invalid_state" });

    // Round two: confirmed and finished in the owner's browser.
    const second = await connectLink(owner.orgId, created.id);
    const going = await confirm(owner.client, second);
    expect(going.status).toBe(303);
    const done = await owner.client.request(await atProvider(going.headers.get("Location") ?? ""));
    expect(done.status).toBe(200);
    const { connection } = (await done.json()) as { connection: { owner: unknown; created_by: string } };
    expect(connection.owner).toEqual({ kind: "org", id: owner.orgId });
    expect(connection.created_by).toBe(`session:${(await owner.client.session()).id}`);
    const listed = await operator.json<{ connections: { owner: { kind: string } }[] }>(
      ...["vault", "connection", "list", "--org", owner.orgId],
    );
    expect(listed.connections.map((c) => c.owner.kind)).toEqual(["org"]);

    // Who confirmed is audited, with the operator who asked; no link value anywhere in the trail.
    await expect
      .poll(async () =>
        (
          await system.query<{ subject: string; detail: string }>(
            "SELECT subject, detail FROM audit_event WHERE org_id = ? AND kind = 'admin.action' AND outcome = 'allow'",
            owner.orgId,
          )
        ).filter((r) => r.detail.includes('"vault_connection.confirm"')),
      )
      .toEqual([
        { subject: owner.userId, detail: expect.stringContaining('"link_started_by":"operator:') },
        { subject: owner.userId, detail: expect.stringContaining('"link_started_by":"operator:') },
      ]);
    const trail = JSON.stringify(await system.query("SELECT * FROM audit_event WHERE org_id = ?", owner.orgId));
    for (const link of [first, second]) expect(trail).not.toContain(linkValue(link));
    expect(trail).not.toContain(authorization.searchParams.get("state"));
  });

  it("is spent by exactly one of two confirmations racing for it", async () => {
    const owner = await person();
    const created = await upstreamProvider(owner.orgId);
    const [one, two] = [owner.client, await signedIn(owner)];
    for (let round = 0; round < 3; round++) {
      const link = await connectLink(owner.orgId, created.id);
      const answers = await Promise.all([confirm(one, link), confirm(two, link)]);
      expect(answers.map((a) => a.status).sort()).toEqual([303, 400]);
      for (const answer of answers) {
        if (answer.status === 400) await expectRefusedPage(answer, 400, "invalid_connect_link");
        else expect(new URL(answer.headers.get("Location") ?? "").origin).toBe(provider.origin);
      }
    }
  });

  it("names a provider's authorization origin in its CSP only when it is a plain origin, never a wildcard; else no Confirm button (422)", async () => {
    const owner = await person();
    const created = await upstreamProvider(owner.orgId);
    const link = await connectLink(owner.orgId, created.id);
    // A row from before the admin API required a DNS host (it refuses this now: test/token/vault-connect.test.ts).
    await system.execMain(
      "UPDATE vault_provider SET authorization_endpoint = ? WHERE id = ?",
      "https://*.com/authorize",
      created.id,
    );
    const page = await owner.client.request(link);
    const csp = page.headers.get("Content-Security-Policy") ?? "";
    expect(csp).toContain("form-action 'self';");
    expect(csp).not.toContain("*");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers.get("X-Frame-Options")).toBe("DENY");
    // The browser would refuse the redirect after the link is spent: no form, its own code, not "reload".
    const html = await page.clone().text();
    expect(html).not.toContain("<button");
    expect(html).not.toContain('data-testid="vault-confirm-reload"');
    await expectRefusedPage(page, 422, "provider_endpoint_unsupported");
    // A page shown before this check posts an empty origin: the same refusal, and the link is still good.
    const stale = await owner.client.request(new URL(link, system.origin).pathname, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ [VAULT_CONNECT_LINK.param]: linkValue(link), authorization_origin: "" }),
    });
    await expectRefusedPage(stale, 422, "provider_endpoint_unsupported");
    await system.execMain(
      "UPDATE vault_provider SET authorization_endpoint = ? WHERE id = ?",
      `${provider.origin}/authorize`,
      created.id,
    );
    expect((await confirm(owner.client, link)).status).toBe(303);
  });

  it("refuses a confirmation whose provider moved since the page was shown: 409 conflict, reload, the link kept", async () => {
    const owner = await person();
    const created = await upstreamProvider(owner.orgId);
    const link = await connectLink(owner.orgId, created.id);
    const page = await owner.client.request(link);
    expect(page.status).toBe(200);
    const html = await page.text();
    const shown = /name="authorization_origin" value="([^"]*)"/.exec(html)?.[1];
    expect(shown).toBe(provider.origin);
    const post = () =>
      owner.client.request(new URL(link, system.origin).pathname, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ [VAULT_CONNECT_LINK.param]: linkValue(link), authorization_origin: shown ?? "" }),
      });
    // The provider's authorization endpoint moves between the page and Confirm (the CSP allows the old origin only).
    const moved = `http://localhost:${new URL(provider.origin).port}/authorize`;
    await system.execMain("UPDATE vault_provider SET authorization_endpoint = ? WHERE id = ?", moved, created.id);
    const refused = await post();
    await expectRefusedPage(refused.clone(), 409, "conflict");
    expect(await refused.text()).toContain('data-testid="vault-confirm-reload"');
    // Reloaded, the page allows the new origin, and the same link goes on there.
    const reloaded = await owner.client.request(link);
    expect(reloaded.headers.get("Content-Security-Policy")).toContain(`form-action 'self' ${new URL(moved).origin};`);
    await reloaded.body?.cancel();
    const confirmed = await owner.client.request(new URL(link, system.origin).pathname, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        [VAULT_CONNECT_LINK.param]: linkValue(link),
        authorization_origin: new URL(moved).origin,
      }),
    });
    expect(confirmed.status).toBe(303);
    expect(new URL(confirmed.headers.get("Location") ?? "").origin).toBe(new URL(moved).origin);
  });

  it("sends no Referer to the provider and cannot be framed, on the page and on the redirect to the provider", async () => {
    const owner = await person();
    const link = await connectLink(owner.orgId, (await upstreamProvider(owner.orgId)).id);
    const page = await owner.client.request(link);
    const going = await confirm(owner.client, link);
    expect(going.status).toBe(303);
    for (const answer of [page, going]) {
      expect(answer.headers.get("Referrer-Policy")).toBe("same-origin");
      expect(answer.headers.get("X-Frame-Options")).toBe("DENY");
      expect(answer.headers.get("Cache-Control")).toBe("no-store");
      expect(answer.headers.get("Content-Security-Policy")).toContain("frame-ancestors 'none'");
    }
    await page.body?.cancel();
  });

  it("answers an unknown or spent link with its page and a stable code, never a 500", async () => {
    const owner = await person();
    const base = VAULT_CONNECT_LINK.path(owner.orgId);
    for (const query of ["", "?link=", "?link=not-a-link", `?link=${"x".repeat(3000)}`, "?link=%FF"]) {
      await expectRefusedPage(await owner.client.request(`${base}${query}`), 400, "invalid_connect_link");
    }
    await expectRefusedPage(await confirm(owner.client, `${base}?link=nope`), 400, "invalid_connect_link");
  });
});
