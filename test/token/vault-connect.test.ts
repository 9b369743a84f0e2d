import { env, exports } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { secondFactorMarkIdentifier } from "../../shared/contracts/second-factor.ts";
import { VAULT_PATH } from "../../shared/contracts/vault.ts";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { registerTestClient } from "./clients-fixtures.ts";
import { expectOAuthError, seedSession } from "./fixtures.ts";
import {
  atProvider,
  callback,
  connectAsUser,
  createProvider,
  routeUpstream,
  seedMemberSession,
  sessionCookie,
  startAsUser,
  UPSTREAM,
  UPSTREAM_CLIENT,
  upstreamRequests,
  vaultGet,
} from "./vault-fixtures.ts";

beforeEach(() => routeUpstream());
afterEach(() => vi.restoreAllMocks());

describe("vault connection flow (we are the OAuth client)", () => {
  it("runs authorization code + PKCE S256 with exact redirect and saves the connection for the person", async () => {
    const s = await seedSession();
    const provider = await createProvider(s.orgId);
    const authorize = await startAsUser(s, provider.name);
    expect(authorize.origin + authorize.pathname).toBe(`${UPSTREAM}/authorize`);
    expect(authorize.searchParams.get("tag")).toBe(provider.name);
    const p = authorize.searchParams;
    expect(p.get("response_type")).toBe("code");
    expect(p.get("client_id")).toBe(UPSTREAM_CLIENT.id);
    expect(p.get("redirect_uri")).toBe(`${env.ISSUER}${VAULT_PATH.callback}`);
    expect(p.get("code_challenge_method")).toBe("S256");
    expect(p.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.get("state")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.get("scope")).toBe("read write");

    const back = await atProvider(authorize);
    const done = await callback(back, s);
    expect(done.status).toBe(200);
    expect(done.headers.get("Cache-Control")).toBe("no-store");
    const body = (await done.json()) as { connected: boolean; connection: Record<string, unknown> };
    expect(body.connected).toBe(true);
    expect(body.connection).toMatchObject({
      org_id: s.orgId,
      provider_id: provider.id,
      resource: "demo-echo",
      owner: { kind: "user", id: s.userId },
      client_id: UPSTREAM_CLIENT.id,
      has_refresh_token: true,
      scopes: ["read", "write"],
      agents: [],
    });
    // Metadata only: nothing that could be a token.
    expect(JSON.stringify(body)).not.toMatch(/up-at-|up-rt-|"access_token"|"refresh_token"/);
    const exchanged = (await upstreamRequests(provider.name)).at(-1);
    expect(exchanged).toEqual({
      grant_type: "authorization_code",
      client_auth: "client_secret_basic",
      code_verifier: true,
    });
  });

  it("connecting again replaces the tokens on the same connection", async () => {
    const s = await seedSession();
    const provider = await createProvider(s.orgId);
    const first = await connectAsUser(s, provider.name);
    const second = await connectAsUser(s, provider.name);
    expect(second.id).toBe(first.id);
  });

  it("sends a browser without a signed-in person to the sign-in page: 303, no flow started", async () => {
    const s = await seedSession();
    const provider = await createProvider(s.orgId);
    const expectSignIn = async (answer: Response) => {
      expect(answer.status).toBe(303);
      expect(answer.headers.get("Location")).toBe(ENDPOINT.signIn);
      expect(answer.headers.get("Cache-Control")).toBe("no-store");
    };
    await expectSignIn(await vaultGet(`${VAULT_PATH.connect}/${provider.name}`));
    await expectSignIn(
      await vaultGet(`${VAULT_PATH.connect}/${provider.name}`, { Cookie: "mono.session_token=not-a-session.sig" }),
    );
    // Only the cookie this issuer sets counts (plain http here: `mono.`); another name carrying a live session does not.
    await expectSignIn(
      await vaultGet(`${VAULT_PATH.connect}/${provider.name}`, {
        Cookie: sessionCookie(s).replace("mono.session_token", "__Host-mono.session_token"),
      }),
    );
  });

  it("sends a session that has not passed its person's second factor to step up: 303 /two-factor, no flow started", async () => {
    // A social or SSO sign-in of a person with 2FA on, or a session from before it: no mark (docs/authn.md).
    const s = await seedSession();
    const provider = await createProvider(s.orgId);
    await env.DB.prepare("UPDATE user SET two_factor_enabled = 1 WHERE id = ?").bind(s.userId).run();
    const started = await vaultGet(`${VAULT_PATH.connect}/${provider.name}`, { Cookie: sessionCookie(s) });
    expect(started.status).toBe(303);
    expect(started.headers.get("Location")).toBe(ENDPOINT.twoFactor);
    expect(started.headers.get("Cache-Control")).toBe("no-store");
    // Stepped up (the mark workers/authn/src/two-factor/second-factor.ts writes): the flow starts.
    await env.DB.prepare("INSERT INTO verification (id, identifier, value, expires_at) VALUES (?, ?, ?, ?)")
      .bind(crypto.randomUUID(), secondFactorMarkIdentifier(s.sessionId), s.userId, Date.now() + 60_000)
      .run();
    await startAsUser(s, provider.name);
  });

  it("knows only the person's own org's providers: 404 not_found", async () => {
    const s = await seedSession();
    const elsewhere = await seedSession();
    const provider = await createProvider(elsewhere.orgId);
    await expectOAuthError(
      await vaultGet(`${VAULT_PATH.connect}/${provider.name}`, { Cookie: sessionCookie(s) }),
      404,
      "not_found",
    );
  });

  it("refuses a callback without state, with a spent state, or from another session: 400 invalid_state", async () => {
    const s = await seedSession();
    const provider = await createProvider(s.orgId);
    const back = await atProvider(await startAsUser(s, provider.name));
    const noState = new URL(back);
    noState.searchParams.delete("state");
    await expectOAuthError(await callback(noState, s), 400, "invalid_state");

    // RFC 6749 §10.12: a code delivered into another person's browser is not saved there.
    const other = await seedMemberSession(s.orgId);
    await expectOAuthError(await callback(back, other), 400, "invalid_state");
    // The state was spent by that attempt: single use, even for its own session.
    await expectOAuthError(await callback(back, s), 400, "invalid_state");

    const fresh = await atProvider(await startAsUser(s, provider.name));
    expect((await callback(fresh, s)).status).toBe(200);
    await expectOAuthError(await callback(fresh, s), 400, "invalid_state");
  });

  it("refuses an expired state (400 invalid_state), and drops unfinished flows as new ones start", async () => {
    const s = await seedSession();
    const provider = await createProvider(s.orgId);
    const back = await atProvider(await startAsUser(s, provider.name));
    await env.DB.prepare("UPDATE vault_connect_state SET expires_at = ? WHERE org_id = ?")
      .bind(Date.now() - 1000, s.orgId)
      .run();
    await expectOAuthError(await callback(back, s), 400, "invalid_state");
    const stale = await atProvider(await startAsUser(s, provider.name));
    await env.DB.prepare("UPDATE vault_connect_state SET expires_at = ? WHERE org_id = ?")
      .bind(Date.now() - 1000, s.orgId)
      .run();
    await startAsUser(s, provider.name);
    const left = await env.DB.prepare("SELECT count(*) AS n FROM vault_connect_state WHERE org_id = ?")
      .bind(s.orgId)
      .first<{ n: number }>();
    expect(left?.n).toBe(1);
    await expectOAuthError(await callback(stale, s), 400, "invalid_state");
  });

  it("reports the provider's refusal: 502 connection_failed", async () => {
    const s = await seedSession();
    const provider = await createProvider(s.orgId);
    const denied = await atProvider(await startAsUser(s, provider.name), { deny: "1" });
    expect(denied.searchParams.get("error")).toBe("access_denied");
    await expectOAuthError(await callback(denied, s), 502, "connection_failed");
  });

  it("reports a client the provider does not accept: 502 connection_failed", async () => {
    const s = await seedSession();
    const provider = await createProvider(s.orgId, { client_secret: "wrong-secret" });
    const back = await atProvider(await startAsUser(s, provider.name));
    await expectOAuthError(await callback(back, s), 502, "connection_failed");
    expect((await upstreamRequests(provider.name)).at(-1)?.client_auth).toBe("failed");
  });

  it("refuses an operator's flow for someone who is not a member: 400 invalid_body", async () => {
    const orgId = (await seedSession()).orgId;
    const token = await adminToken();
    const provider = await createProvider(orgId, {}, token);
    await expectHttpError(
      await adminRequest("POST", `/orgs/${orgId}/vault/providers/${provider.id}/connect`, {
        token,
        body: { owner: "user-not-a-member" },
      }),
      400,
      "invalid_body",
    );
  });
});

describe("a connection flow an org admin starts from the console", () => {
  it("is finished only by that admin's own session (RFC 6749 §10.12): anyone else holding the link gets 400 invalid_state", async () => {
    const admin = await seedSession({ role: "admin" });
    const provider = await createProvider(admin.orgId);
    const start = () =>
      exports.ConsoleAdmin.fetchAs(
        admin.token,
        new Request(`http://localhost${ENDPOINT.admin}/orgs/${admin.orgId}/vault/providers/${provider.id}/connect`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: "{}",
        }),
      );
    const leaked = (await (await start()).json()) as { authorization_url: string };
    // Someone the link was sent to (another member, or nobody signed in) cannot finish it.
    const stranger = await seedMemberSession(admin.orgId);
    await expectOAuthError(
      await callback(await atProvider(new URL(leaked.authorization_url)), stranger),
      400,
      "invalid_state",
    );
    const own = (await (await start()).json()) as { authorization_url: string };
    const notSignedIn = await callback(await atProvider(new URL(own.authorization_url)));
    await expectOAuthError(notSignedIn, 400, "invalid_state");
    const mine = (await (await start()).json()) as { authorization_url: string };
    const done = await callback(await atProvider(new URL(mine.authorization_url)), admin);
    expect(done.status).toBe(200);
    const { connection } = (await done.json()) as { connection: { owner: unknown; created_by: string } };
    expect(connection.owner).toEqual({ kind: "org", id: admin.orgId });
    expect(connection.created_by).toBe(`session:s-${admin.token.replace("session-token-", "")}`);
  });
});

describe("a saved token is never revealed", () => {
  it("answers 403 saved_token_not_readable below /vault, to an agent's bearer token or anyone", async () => {
    const agent = await registerTestClient({ kind: "agent" });
    for (const path of ["/vault/tokens", "/vault/connections/x/token", `${VAULT_PATH.base}`]) {
      await expectOAuthError(
        await vaultGet(path, { Authorization: `Bearer agent-${agent.clientId}` }),
        403,
        "saved_token_not_readable",
      );
    }
  });

  it("answers 403 saved_token_not_readable in the admin API, even to a platform operator", async () => {
    const s = await seedSession();
    const token = await adminToken();
    const provider = await createProvider(s.orgId, {}, token);
    const connection = await connectAsUser(s, provider.name);
    await expectHttpError(
      await adminRequest("GET", `/orgs/${s.orgId}/vault/connections/${connection.id}/token`, { token }),
      403,
      "saved_token_not_readable",
    );
    const shown = await adminRequest("GET", `/orgs/${s.orgId}/vault/connections/${connection.id}`, { token });
    expect(shown.status).toBe(200);
    const text = await shown.text();
    expect(text).not.toMatch(/up-at-|up-rt-|sealed/);
  });
});

describe("vault providers and connections (admin API)", () => {
  it("creates, lists, changes and deletes providers; the client secret is sealed and never shown", async () => {
    const orgId = (await seedSession()).orgId;
    const token = await adminToken();
    const provider = await createProvider(orgId, { name: "github" }, token);
    expect(provider).toMatchObject({ name: "github", has_client_secret: true });
    expect(JSON.stringify(provider)).not.toContain(UPSTREAM_CLIENT.secret);
    const row = await env.DB.prepare("SELECT * FROM vault_provider WHERE id = ?").bind(provider.id).first();
    expect(JSON.stringify(row)).not.toContain(UPSTREAM_CLIENT.secret);

    await expectHttpError(
      await adminRequest("POST", `/orgs/${orgId}/vault/providers`, {
        token,
        body: {
          name: "github",
          resource: "r",
          authorization_endpoint: `${UPSTREAM}/authorize`,
          token_endpoint: `${UPSTREAM}/token`,
          client_id: "c",
        },
      }),
      409,
      "conflict",
    );
    await expectHttpError(
      await adminRequest("POST", `/orgs/${orgId}/vault/providers`, {
        token,
        body: {
          name: "plain",
          resource: "r",
          authorization_endpoint: "http://upstream.example/authorize",
          token_endpoint: `${UPSTREAM}/token`,
          client_id: "c",
        },
      }),
      400,
      "invalid_body",
    );
    // A host that is no DNS name: its origin would be a CSP wildcard, or end the directive, on the connect-link page.
    for (const host of ["*.example.com", "upstream.example;script-src", "upstream.example,evil.example", "*"]) {
      await expectHttpError(
        await adminRequest("POST", `/orgs/${orgId}/vault/providers`, {
          token,
          body: {
            name: "odd-host",
            resource: "r",
            authorization_endpoint: `https://${host}/authorize`,
            token_endpoint: `${UPSTREAM}/token`,
            client_id: "c",
          },
        }),
        400,
        "invalid_body",
      );
      await expectHttpError(
        await adminRequest("PATCH", `/orgs/${orgId}/vault/providers/${provider.id}`, {
          token,
          body: { authorization_endpoint: `https://${host}/authorize` },
        }),
        400,
        "invalid_body",
      );
    }
    await expectHttpError(
      await adminRequest("POST", `/orgs/${orgId}/vault/providers`, { token, body: { name: "x", client_sercet: "s" } }),
      400,
      "invalid_body",
    );

    const patched = await adminRequest("PATCH", `/orgs/${orgId}/vault/providers/${provider.id}`, {
      token,
      body: { client_secret: null, scopes: ["read"] },
    });
    expect(await patched.json()).toMatchObject({ has_client_secret: false, scopes: ["read"] });
    const listed = (await (await adminRequest("GET", `/orgs/${orgId}/vault/providers`, { token })).json()) as {
      providers: { id: string }[];
    };
    expect(listed.providers.map((p) => p.id)).toEqual([provider.id]);
    const deleted = await adminRequest("DELETE", `/orgs/${orgId}/vault/providers/${provider.id}`, { token });
    expect(await deleted.json()).toEqual({
      id: provider.id,
      deleted: true,
      connections_deleted: 0,
      provider_revocation: { revoked: 0, not_supported: 0, failed: 0 },
    });
    await expectHttpError(
      await adminRequest("GET", `/orgs/${orgId}/vault/providers/${provider.id}`, { token }),
      404,
      "not_found",
    );
  });

  it("lists and deletes saved connections (metadata only); deleting a provider deletes its connections", async () => {
    const s = await seedSession();
    const token = await adminToken();
    const provider = await createProvider(s.orgId, {}, token);
    const connection = await connectAsUser(s, provider.name);
    const agent = await registerTestClient({ orgId: s.orgId, kind: "agent" });
    const bound = await adminRequest("POST", `/orgs/${s.orgId}/vault/connections/${connection.id}/agents`, {
      token,
      body: { client_id: agent.clientId },
    });
    expect(await bound.json()).toEqual({ connection_id: connection.id, client_id: agent.clientId, bound: true });
    const foreign = await registerTestClient({ kind: "agent" });
    await expectHttpError(
      await adminRequest("POST", `/orgs/${s.orgId}/vault/connections/${connection.id}/agents`, {
        token,
        body: { client_id: foreign.clientId },
      }),
      404,
      "not_found",
    );

    const listed = (await (await adminRequest("GET", `/orgs/${s.orgId}/vault/connections`, { token })).json()) as {
      connections: { id: string; agents: string[] }[];
    };
    expect(listed.connections).toEqual([expect.objectContaining({ id: connection.id, agents: [agent.clientId] })]);

    const second = await createProvider(s.orgId, {}, token);
    const other = await connectAsUser(s, second.name);
    const removed = await adminRequest("DELETE", `/orgs/${s.orgId}/vault/connections/${other.id}`, { token });
    expect(await removed.json()).toEqual({ id: other.id, deleted: true, provider_revocation: "not_supported" });
    await expectHttpError(
      await adminRequest("DELETE", `/orgs/${s.orgId}/vault/connections/${other.id}`, { token }),
      404,
      "not_found",
    );

    const gone = await adminRequest("DELETE", `/orgs/${s.orgId}/vault/providers/${provider.id}`, { token });
    expect(await gone.json()).toEqual({
      id: provider.id,
      deleted: true,
      connections_deleted: 1,
      provider_revocation: { revoked: 0, not_supported: 1, failed: 0 },
    });
    const bindings = await env.DB.prepare("SELECT count(*) AS n FROM vault_connection_agent WHERE connection_id = ?")
      .bind(connection.id)
      .first<{ n: number }>();
    expect(bindings?.n).toBe(0);
  });
});
