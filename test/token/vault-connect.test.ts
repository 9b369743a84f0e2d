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
  confirmLink,
  connectAsUser,
  consoleAdminRequest,
  createProvider,
  operatorConnectLink,
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

/** The audit events of the org's admin calls that did `action`. */
async function adminActions(orgId: string, action: string) {
  const { results } = await env.AUDIT_DB.prepare(
    "SELECT outcome, subject, client_id, detail FROM audit_event WHERE org_id = ? AND kind = 'admin.action'",
  )
    .bind(orgId)
    .all<{ outcome: string; subject: string | null; client_id: string | null; detail: string }>();
  return results.filter((r) => (JSON.parse(r.detail) as { action?: string }).action === action);
}

describe("an operator client's connect link (confirmed in the browser by an admin of the org)", () => {
  it("starts nothing at the provider: an org admin's confirmation binds the flow to their session, and only it finishes", async () => {
    const orgId = (await seedSession()).orgId;
    const admin = await seedMemberSession(orgId, "admin");
    const provider = await createProvider(orgId);
    const link = await operatorConnectLink(orgId, provider.id);
    expect(link).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const flows = () =>
      env.DB.prepare("SELECT count(*) AS n FROM vault_connect_state WHERE org_id = ?")
        .bind(orgId)
        .first<{ n: number }>();
    expect((await flows())?.n).toBe(0);
    const stored = await env.DB.prepare("SELECT * FROM vault_connect_link WHERE org_id = ?").bind(orgId).all();
    expect(stored.results).toHaveLength(1);
    expect(JSON.stringify(stored.results)).not.toContain(link);

    const shown = await consoleAdminRequest(admin, "POST", `/orgs/${orgId}/vault/connect-links/inspect`, { link });
    expect(shown.status).toBe(200);
    expect(await shown.json()).toMatchObject({
      org: { id: orgId, name: "Org" },
      provider: { id: provider.id, name: provider.name, scopes: ["read", "write"] },
      owner: { kind: "org", id: orgId },
      started_by: expect.stringMatching(/^operator:mac_/),
    });

    // The operator client cannot confirm its own link; a plain member and another org's admin may not either.
    await expectHttpError(
      await adminRequest("POST", `/orgs/${orgId}/vault/connect-links/confirm`, {
        token: await adminToken(),
        body: { link },
      }),
      403,
      "forbidden",
    );
    await expectHttpError(await confirmLink(await seedMemberSession(orgId), orgId, link), 403, "forbidden");
    await expectHttpError(await confirmLink(await seedSession({ role: "owner" }), orgId, link), 403, "forbidden");

    // Still unused: the org's admin confirms it, once.
    const confirmed = await confirmLink(admin, orgId, link);
    expect(confirmed.status).toBe(201);
    const { authorization_url } = (await confirmed.json()) as { authorization_url: string };
    expect(new URL(authorization_url).searchParams.get("code_challenge_method")).toBe("S256");
    await expectHttpError(await confirmLink(admin, orgId, link), 400, "invalid_connect_link");

    // Someone else's browser carrying the provider's answer (or none at all) finishes nothing.
    const back = await atProvider(new URL(authorization_url));
    await expectOAuthError(await callback(back, await seedMemberSession(orgId)), 400, "invalid_state");
    const again = await confirmLink(admin, orgId, await operatorConnectLink(orgId, provider.id));
    const unsigned = await atProvider(
      new URL(((await again.json()) as { authorization_url: string }).authorization_url),
    );
    await expectOAuthError(await callback(unsigned), 400, "invalid_state");

    const mine = await confirmLink(admin, orgId, await operatorConnectLink(orgId, provider.id));
    const done = await callback(
      await atProvider(new URL(((await mine.json()) as { authorization_url: string }).authorization_url)),
      admin,
    );
    expect(done.status).toBe(200);
    const { connection } = (await done.json()) as { connection: { owner: unknown; created_by: string } };
    expect(connection.owner).toEqual({ kind: "org", id: orgId });
    expect(connection.created_by).toBe(`session:${admin.sessionId}`);

    // Who confirmed is audited (the person, the operator who asked), never the link's value.
    const audited = await vi.waitUntil(
      async () => {
        const rows = await adminActions(orgId, "vault_connection.confirm");
        return rows.filter((r) => r.outcome === "allow").length >= 3 ? rows : undefined;
      },
      { timeout: 10_000, interval: 100 },
    );
    const allowed = audited.filter((r) => r.outcome === "allow");
    expect(allowed).toHaveLength(3);
    // Refusals inside the org are audited too: the operator client's try, and the spent link.
    expect(audited.filter((r) => r.outcome === "deny").map((r) => JSON.parse(r.detail).error)).toEqual(
      expect.arrayContaining(["forbidden", "invalid_connect_link"]),
    );
    expect(allowed[0]).toMatchObject({ subject: admin.userId, client_id: "mono-auth-console" });
    expect(JSON.parse(allowed[0]?.detail ?? "{}")).toMatchObject({
      provider_id: provider.id,
      owner_kind: "org",
      link_started_by: expect.stringMatching(/^operator:mac_/),
      via: "console",
    });
    const { results: everything } = await env.AUDIT_DB.prepare("SELECT detail FROM audit_event WHERE org_id = ?")
      .bind(orgId)
      .all<{ detail: string }>();
    expect(JSON.stringify(everything)).not.toContain(link);
  });

  it("is spent by exactly one of two confirmations racing for it; the other is 400 invalid_connect_link", async () => {
    const orgId = (await seedSession()).orgId;
    const [first, second] = [await seedMemberSession(orgId, "admin"), await seedMemberSession(orgId, "owner")];
    const provider = await createProvider(orgId);
    for (let round = 0; round < 3; round++) {
      const link = await operatorConnectLink(orgId, provider.id);
      const answers = await Promise.all([confirmLink(first, orgId, link), confirmLink(second, orgId, link)]);
      expect(answers.map((a) => a.status).sort()).toEqual([201, 400]);
      const loser = answers.find((a) => a.status === 400);
      if (loser) await expectHttpError(loser, 400, "invalid_connect_link");
      await answers.find((a) => a.status === 201)?.body?.cancel();
    }
    const started = await env.DB.prepare("SELECT count(*) AS n FROM vault_connect_state WHERE org_id = ?")
      .bind(orgId)
      .first<{ n: number }>();
    expect(started?.n).toBe(3);
  });

  it("answers an unknown, expired or another org's link 400 invalid_connect_link, at inspect and confirm", async () => {
    const orgId = (await seedSession()).orgId;
    const admin = await seedMemberSession(orgId, "admin");
    const provider = await createProvider(orgId);
    const inspect = (link: unknown) =>
      consoleAdminRequest(admin, "POST", `/orgs/${orgId}/vault/connect-links/inspect`, { link });
    for (const link of ["", "not-a-link", "x".repeat(4096)]) {
      await expectHttpError(await inspect(link), 400, "invalid_connect_link");
      await expectHttpError(await confirmLink(admin, orgId, link), 400, "invalid_connect_link");
    }
    await expectHttpError(await inspect(42), 400, "invalid_body");

    const expired = await operatorConnectLink(orgId, provider.id);
    await env.DB.prepare("UPDATE vault_connect_link SET expires_at = ? WHERE org_id = ?")
      .bind(Date.now() - 1000, orgId)
      .run();
    await expectHttpError(await inspect(expired), 400, "invalid_connect_link");
    await expectHttpError(await confirmLink(admin, orgId, expired), 400, "invalid_connect_link");

    const elsewhere = (await seedSession()).orgId;
    const foreign = await operatorConnectLink(elsewhere, (await createProvider(elsewhere)).id);
    await expectHttpError(await confirmLink(admin, orgId, foreign), 400, "invalid_connect_link");
    // Links nobody confirmed are dropped as new ones start.
    await operatorConnectLink(orgId, provider.id);
    const left = await env.DB.prepare("SELECT count(*) AS n FROM vault_connect_link WHERE org_id = ?")
      .bind(orgId)
      .first<{ n: number }>();
    expect(left?.n).toBe(1);
  });

  it("for a person's own connection, is confirmed only by that person: another admin is 403 forbidden, the link kept", async () => {
    const orgId = (await seedSession()).orgId;
    const [owner, other] = [await seedMemberSession(orgId, "admin"), await seedMemberSession(orgId, "admin")];
    const provider = await createProvider(orgId);
    const link = await operatorConnectLink(orgId, provider.id, { owner: owner.userId });
    // Not even shown to another admin: the page would tell them "saved as your own connection".
    const inspect = (s: { token: string }) =>
      consoleAdminRequest(s, "POST", `/orgs/${orgId}/vault/connect-links/inspect`, { link });
    await expectHttpError(await inspect(other), 403, "forbidden");
    await expectHttpError(await confirmLink(other, orgId, link), 403, "forbidden");
    expect((await inspect(owner)).status).toBe(200);
    const confirmed = await confirmLink(owner, orgId, link);
    expect(confirmed.status).toBe(201);
    const { authorization_url } = (await confirmed.json()) as { authorization_url: string };
    const done = await callback(await atProvider(new URL(authorization_url)), owner);
    expect(done.status).toBe(200);
    const { connection } = (await done.json()) as { connection: { owner: unknown; created_by: string } };
    expect(connection).toMatchObject({ owner: { kind: "user", id: owner.userId }, created_by: `user:${owner.userId}` });
  });
});

describe("a flow whose person lost the right to start it before the callback", () => {
  const connections = async (orgId: string) =>
    (
      await env.DB.prepare("SELECT count(*) AS n FROM vault_connection WHERE org_id = ?")
        .bind(orgId)
        .first<{ n: number }>()
    )?.n;

  it("saves nothing for an admin demoted between confirming a link and the callback: 403 forbidden", async () => {
    const orgId = (await seedSession()).orgId;
    const admin = await seedMemberSession(orgId, "admin");
    const provider = await createProvider(orgId);
    const confirmed = await confirmLink(admin, orgId, await operatorConnectLink(orgId, provider.id));
    expect(confirmed.status).toBe(201);
    const back = await atProvider(
      new URL(((await confirmed.json()) as { authorization_url: string }).authorization_url),
    );
    await env.DB.prepare("UPDATE member SET role = 'member' WHERE user_id = ? AND organization_id = ?")
      .bind(admin.userId, orgId)
      .run();
    await expectOAuthError(await callback(back, admin), 403, "forbidden");
    expect(await connections(orgId)).toBe(0);
    // The state was spent by the refusal: promoted again, the same answer is a spent state.
    await env.DB.prepare("UPDATE member SET role = 'admin' WHERE user_id = ? AND organization_id = ?")
      .bind(admin.userId, orgId)
      .run();
    await expectOAuthError(await callback(back, admin), 400, "invalid_state");
    expect(await connections(orgId)).toBe(0);
  });

  it("saves nothing for a person removed from the flow's org after starting their own, while active in another", async () => {
    const s = await seedSession();
    const provider = await createProvider(s.orgId);
    const back = await atProvider(await startAsUser(s, provider.name));
    // Active in another org they belong to (the callback's session check passes), gone from this one.
    const elsewhere = await seedSession();
    await env.DB.prepare(
      "INSERT INTO member (id, organization_id, user_id, role, created_at) VALUES (?, ?, ?, 'member', ?)",
    )
      .bind(crypto.randomUUID(), elsewhere.orgId, s.userId, Date.now())
      .run();
    await env.DB.prepare("UPDATE session SET active_organization_id = ? WHERE id = ?")
      .bind(elsewhere.orgId, s.sessionId)
      .run();
    await env.DB.prepare("DELETE FROM member WHERE user_id = ? AND organization_id = ?").bind(s.userId, s.orgId).run();
    await expectOAuthError(await callback(back, s), 403, "forbidden");
    expect(await connections(s.orgId)).toBe(0);
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
