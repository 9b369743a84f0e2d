import { env, exports } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { VAULT_DEMO } from "../../shared/contracts/vault.ts";
import { bindAgent, saveConnection } from "../../workers/token/src/vault/connections.ts";
import { createProvider } from "../../workers/token/src/vault/providers.ts";
import { registerAgent } from "./agent-rows.ts";
import { memberClaims, type TestSigner, testSigner } from "./signed-token.ts";

// The gateway with the real token Worker (its VaultService) and the real demo
// echo service behind it. The saved connection is written with the token
// Worker's own vault code, as a connection flow would leave it; the gateway
// test holds VAULT_KEY only to do that (test/support/secrets.ts), the gateway
// Worker has no such binding.
const URL_ECHO = `http://localhost:8787${VAULT_DEMO.path}`;
const VAULT_KEY = (env as unknown as { VAULT_KEY: string }).VAULT_KEY;

let signer: TestSigner;

beforeAll(async () => {
  signer = await testSigner();
});

beforeEach(() => signer.publish());

/** An org whose person has connected the demo resource, with the upstream token given. */
async function savedConnection(upstreamToken: string, owner: "user" | "org" = "user") {
  const orgId = `org-${crypto.randomUUID()}`;
  const userId = `user-${crypto.randomUUID()}`;
  const provider = await createProvider(env.DB, VAULT_KEY, orgId, {
    name: "upstream",
    resource: VAULT_DEMO.resource,
    authorizationEndpoint: "https://upstream.example/authorize",
    tokenEndpoint: "https://upstream.example/token",
    clientId: "our-client",
    clientSecret: "our-secret",
    scopes: ["read"],
  });
  if (!provider) throw new Error("provider not created");
  const connection = await saveConnection(env.DB, VAULT_KEY, {
    provider,
    ownerKind: owner,
    ownerId: owner === "user" ? userId : orgId,
    tokens: {
      accessToken: upstreamToken,
      tokenType: "Bearer",
      refreshToken: null,
      expiresAt: Date.now() + 3_600_000,
      scope: null,
    },
    createdBy: `user:${userId}`,
  });
  return { orgId, userId, connection };
}

function get(token: string) {
  return exports.default.fetch(new Request(URL_ECHO, { headers: { Authorization: `Bearer ${token}` } }));
}

async function echoed(response: Response): Promise<Map<string, string>> {
  expect(response.status).toBe(200);
  const body = (await response.json()) as { headers: [string, string][] };
  return new Map(body.headers);
}

async function expectRefused(response: Response, reason: string) {
  expect(response.status).toBe(403);
  const body = (await response.json()) as { error: string; error_description: string; decision_id: string };
  expect(body).toMatchObject({ error: "access_denied", error_description: reason });
  expect(body.decision_id).toMatch(/^[0-9a-f-]{36}$/);
  return body;
}

describe("gateway: a route served with a saved connection", () => {
  it("puts the saved upstream token on the request; the agent's own token never crosses", async () => {
    const upstreamToken = `upstream-${crypto.randomUUID()}`;
    const { orgId, userId, connection } = await savedConnection(upstreamToken);
    const agent = await registerAgent(orgId);
    await bindAgent(env.DB, orgId, connection.id, agent, "test");
    const agentToken = await signer.sign(memberClaims({ sub: userId, org_id: orgId, client_id: agent }));
    const headers = await echoed(await get(agentToken));
    expect(headers.get("authorization")).toBe(`Bearer ${upstreamToken}`);
    expect(headers.get("x-user-id")).toBe(userId);
    expect(JSON.stringify([...headers])).not.toContain(agentToken);
  });

  it("serves a delegated agent (act) bound to the person's connection", async () => {
    const upstreamToken = `upstream-${crypto.randomUUID()}`;
    const { orgId, userId, connection } = await savedConnection(upstreamToken);
    const agent = await registerAgent(orgId);
    await bindAgent(env.DB, orgId, connection.id, agent, "test");
    const delegated = await signer.sign(
      memberClaims({ sub: userId, org_id: orgId, act: { sub: agent, client_id: agent } }),
    );
    const headers = await echoed(await get(delegated));
    expect(headers.get("authorization")).toBe(`Bearer ${upstreamToken}`);
    expect(headers.get("x-actor-id")).toBe(agent);
  });

  it("refuses an agent not bound to the connection: 403 access_denied saved_connection_not_permitted", async () => {
    const { orgId, userId } = await savedConnection(`upstream-${crypto.randomUUID()}`);
    const agent = await registerAgent(orgId);
    const body = await expectRefused(
      await get(await signer.sign(memberClaims({ sub: userId, org_id: orgId, client_id: agent }))),
      "saved_connection_not_permitted",
    );
    await expect
      .poll(() =>
        env.AUDIT_DB.prepare("SELECT outcome, detail FROM audit_event WHERE id = ?").bind(body.decision_id).first(),
      )
      .toMatchObject({ outcome: "deny" });
  });

  it("refuses when nobody connected the resource: 403 access_denied no_saved_connection", async () => {
    const orgId = `org-${crypto.randomUUID()}`;
    const agent = await registerAgent(orgId);
    await expectRefused(
      await get(await signer.sign(memberClaims({ sub: "user-x", org_id: orgId, client_id: agent }))),
      "no_saved_connection",
    );
  });

  it("asks the policy first: a token the PDP denies never gets a saved token (403 no_matching_allow)", async () => {
    const upstreamToken = `upstream-${crypto.randomUUID()}`;
    const { orgId, userId, connection } = await savedConnection(upstreamToken);
    const agent = await registerAgent(orgId);
    await bindAgent(env.DB, orgId, connection.id, agent, "test");
    // The default policy lets members with documents:read call the echo service; this token has no scope.
    const response = await get(
      await signer.sign(memberClaims({ sub: userId, org_id: orgId, client_id: agent, scope: "" })),
    );
    const body = await expectRefused(response, "no_matching_allow");
    expect(JSON.stringify(body)).not.toContain(upstreamToken);
  });

  it("an org's connection serves the org's machine acting as itself, when bound", async () => {
    const upstreamToken = `upstream-${crypto.randomUUID()}`;
    const { orgId, connection } = await savedConnection(upstreamToken, "org");
    const machine = await registerAgent(orgId);
    await bindAgent(env.DB, orgId, connection.id, machine, "test");
    const headers = await echoed(
      await get(await signer.sign(memberClaims({ sub: machine, org_id: orgId, client_id: machine, roles: [] }))),
    );
    expect(headers.get("authorization")).toBe(`Bearer ${upstreamToken}`);
  });

  it.each([
    ["CR LF", "\r\nX-Injected: 1"],
    ["LF", "\nX-Injected: 1"],
    ["NUL", "\u0000"],
    ["trailing space", " "],
  ])(
    "a saved token with %s is 502 upstream_response_refused ERR_SAVED_TOKEN_UNUSABLE, not 500, audited without it",
    async (_, tail) => {
      // RFC 9110 §5.5: no header field value; the runtime threw setting it as the upstream Authorization.
      const secret = `upstream-${crypto.randomUUID()}`;
      const { orgId, userId, connection } = await savedConnection(`${secret}${tail}`);
      const agent = await registerAgent(orgId);
      await bindAgent(env.DB, orgId, connection.id, agent, "test");
      const response = await get(await signer.sign(memberClaims({ sub: userId, org_id: orgId, client_id: agent })));
      expect(response.status).toBe(502);
      const text = await response.text();
      expect(JSON.parse(text)).toEqual({
        error: "upstream_response_refused",
        error_description:
          "ERR_SAVED_TOKEN_UNUSABLE: the saved connection's token cannot be sent to the service; this is not about your token",
      });
      expect(text).not.toContain(secret);
      const decisions = () =>
        env.AUDIT_DB.prepare("SELECT outcome, detail FROM audit_event WHERE org_id = ? AND kind = 'gateway.decision'")
          .bind(orgId)
          .all<{ outcome: string; detail: string }>()
          .then((r) => r.results);
      await expect
        .poll(async () => (await decisions()).map((row) => [row.outcome, JSON.parse(row.detail).reason]))
        .toEqual([["deny", "saved_token_unusable"]]);
      const everything = await env.AUDIT_DB.prepare("SELECT * FROM audit_event WHERE org_id = ?").bind(orgId).all();
      expect(JSON.stringify(everything.results)).not.toContain(secret);
    },
  );
});
