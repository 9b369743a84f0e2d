// The saved-token vault end to end over HTTP: the whole system
// (test/support/system.ts), a third-party OAuth provider on 127.0.0.1
// (test/support/vault-provider-server.ts), the `mono-auth` CLI as the
// operator and a browser-like client as the person. A person connects their
// account, an operator connects the org's (its link confirmed by the org's owner); an agent bound to the org's
// connection calls the demo echo service through the gateway, which receives
// the saved upstream token and never the agent's.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VAULT_CONNECT_LINK, VAULT_DEMO, VAULT_PATH } from "../../shared/contracts/vault.ts";
import { BrowserLikeClient } from "../support/browser-like-client.ts";
import { clientCredentialsToken, type OperatorCli, operatorCli } from "../support/operator-cli.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";
import { type ProviderServer, startProviderServer } from "../support/vault-provider-server.ts";

let system: RunningSystem;
let provider: ProviderServer;
let operator: OperatorCli;

beforeAll(async () => {
  [system, provider] = await Promise.all([startSystem(), startProviderServer()]);
  operator = await operatorCli(system, "vault");
});

afterAll(async () => {
  await Promise.all([system?.close(), provider?.close()]);
});

interface Provider {
  id: string;
  name: string;
  has_client_secret: boolean;
}

interface Connection {
  id: string;
  owner: { kind: string; id: string };
  agents: string[];
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

/**
 * `mono-auth vault provider connect` prints a link to our confirmation page
 * (docs/vault.md); the org's admin in `browser` confirms it there, which
 * sends the browser on to the provider: that authorization URL.
 */
async function confirmedLink(browser: BrowserLikeClient, orgId: string, providerId: string): Promise<string> {
  const { confirmation_url } = await operator.json<{ confirmation_url: string }>(
    ...["vault", "provider", "connect", "--org", orgId, "--id", providerId],
  );
  const url = new URL(confirmation_url);
  const confirmed = await browser.request(url.pathname, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ [VAULT_CONNECT_LINK.param]: url.searchParams.get(VAULT_CONNECT_LINK.param) ?? "" }),
  });
  expect(confirmed.status).toBe(303);
  return confirmed.headers.get("Location") ?? "";
}

describe("saved-token vault over HTTP", () => {
  it("connects a person's account and the org's, and injects the org's token for a bound agent", async () => {
    const browser = new BrowserLikeClient(system);
    const { userId, orgId } = await browser.signUp(`vault-${crypto.randomUUID().slice(0, 8)}@example.com`);
    const created = await operator.json<Provider>(
      ...["vault", "provider", "create", "--org", orgId, "--name", "upstream", "--resource", VAULT_DEMO.resource],
      ...["--authorization-endpoint", `${provider.origin}/authorize`, "--token-endpoint", `${provider.origin}/token`],
      ...["--client-id", "vault-test-client", "--client-secret", "vault-test-secret", "--scopes", "read"],
    );
    expect(created).toMatchObject({ name: "upstream", has_client_secret: true });
    expect(JSON.stringify(created)).not.toContain("vault-test-secret");

    // The person, signed in: /vault/connect/<provider> → the provider → our callback.
    const start = await browser.request(`${VAULT_PATH.connect}/upstream`);
    expect(start.status).toBe(302);
    const done = await browser.request(await atProvider(start.headers.get("Location") ?? ""));
    expect(done.status).toBe(200);
    const mine = ((await done.json()) as { connection: Connection }).connection;
    expect(mine.owner).toEqual({ kind: "user", id: userId });

    // The operator connects the org's own account: its link, confirmed in the browser by the org's owner.
    const orgDone = await browser.request(await atProvider(await confirmedLink(browser, orgId, created.id)));
    expect(orgDone.status).toBe(200);
    const orgConnection = ((await orgDone.json()) as { connection: Connection }).connection;
    expect(orgConnection.owner).toEqual({ kind: "org", id: orgId });

    // An agent of the org, acting as itself, bound to the org's connection.
    const agent = await operator.json<{ client_id: string; client_secret: string }>(
      ...["client", "create", "--org", orgId, "--name", "agent", "--type", "agent"],
      ...["--auth", "client_secret_basic", "--scopes", "documents:read"],
    );
    const agentToken = await clientCredentialsToken(system, agent);
    const call = () => system.fetch(VAULT_DEMO.path, { headers: { Authorization: `Bearer ${agentToken}` } });
    const unbound = await call();
    expect(unbound.status).toBe(403);
    expect(await unbound.json()).toMatchObject({
      error: "access_denied",
      error_description: "saved_connection_not_permitted",
    });

    await operator.json(
      ...["vault", "connection", "bind", "--org", orgId, "--id", orgConnection.id, "--client", agent.client_id],
    );
    const listed = await operator.json<{ connections: Connection[] }>("vault", "connection", "list", "--org", orgId);
    expect(listed.connections.map((c) => [c.owner.kind, c.agents])).toEqual(
      expect.arrayContaining([
        ["user", []],
        ["org", [agent.client_id]],
      ]),
    );

    const response = await call();
    expect(response.status).toBe(200);
    const echoed = new Map(((await response.json()) as { headers: [string, string][] }).headers);
    const authorization = echoed.get("authorization") ?? "";
    expect(authorization).toMatch(/^Bearer up-at-/);
    expect(JSON.stringify([...echoed])).not.toContain(agentToken);
    const introspected = await provider.fetch("/introspect", {
      method: "POST",
      body: new URLSearchParams({ token: authorization.slice("Bearer ".length) }),
    });
    expect(await introspected.json()).toEqual({ active: true });

    // No API gives the token out: 403 saved_token_not_readable, to the agent and to the operator.
    const read = await system.fetch(`${VAULT_PATH.base}/connections/${orgConnection.id}/token`, {
      headers: { Authorization: `Bearer ${agentToken}` },
    });
    expect(read.status).toBe(403);
    expect(await read.json()).toMatchObject({ error: "saved_token_not_readable" });
    const listedAgain = await operator.cli("vault", "connection", "list", "--org", orgId, "--json");
    expect(listedAgain.stdout).not.toMatch(/up-at-|up-rt-/);

    // Every use is audited, with ids and never the token.
    await expect
      .poll(() =>
        system.query<{ detail: string }>(
          "SELECT detail FROM audit_event WHERE org_id = ? AND kind = 'vault.token_used'",
          orgId,
        ),
      )
      .toEqual([{ detail: expect.stringContaining(orgConnection.id) }]);
    const audited = await system.query<{ detail: string }>("SELECT detail FROM audit_event WHERE org_id = ?", orgId);
    expect(JSON.stringify(audited)).not.toMatch(/up-at-|up-rt-/);
  });

  it("refreshes an expired saved token before it goes upstream, at the provider's token endpoint", async () => {
    const browser = new BrowserLikeClient(system);
    const { orgId } = await browser.signUp(`vault-${crypto.randomUUID().slice(0, 8)}@example.com`);
    // This provider issues tokens that expire at once: the first use must refresh.
    const created = await operator.json<Provider>(
      ...["vault", "provider", "create", "--org", orgId, "--name", "short-lived", "--resource", VAULT_DEMO.resource],
      ...["--authorization-endpoint", `${provider.origin}/authorize?expires_in=0&tag=short-lived`],
      ...["--token-endpoint", `${provider.origin}/token`],
      ...["--client-id", "vault-test-client", "--client-secret", "vault-test-secret"],
    );
    const connection = (
      (await (await browser.request(await atProvider(await confirmedLink(browser, orgId, created.id)))).json()) as {
        connection: Connection;
      }
    ).connection;
    const agent = await operator.json<{ client_id: string; client_secret: string }>(
      ...["client", "create", "--org", orgId, "--name", "agent", "--type", "agent"],
      ...["--auth", "client_secret_basic", "--scopes", "documents:read"],
    );
    await operator.json(
      ...["vault", "connection", "bind", "--org", orgId, "--id", connection.id, "--client", agent.client_id],
    );
    const agentToken = await clientCredentialsToken(system, agent);
    const response = await system.fetch(VAULT_DEMO.path, { headers: { Authorization: `Bearer ${agentToken}` } });
    expect(response.status).toBe(200);
    const requests = (await (await provider.fetch("/requests?tag=short-lived")).json()) as {
      grant_type: string;
      client_auth: string;
    }[];
    expect(requests.at(-1)).toMatchObject({ grant_type: "refresh_token", client_auth: "client_secret_basic" });
    await expect
      .poll(() =>
        system.query<{ detail: string }>(
          "SELECT detail FROM audit_event WHERE org_id = ? AND kind = 'vault.token_used'",
          orgId,
        ),
      )
      .toEqual([{ detail: expect.stringContaining('"refreshed":true') }]);
  });
});
