import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { afterEach, describe, expect, it, vi } from "vitest";
import { SSF_DELIVERY, SSF_EVENT } from "../../shared/contracts/ssf.ts";
import { GRANT_TYPE } from "../../shared/contracts/tokens.ts";
import { oauthClient } from "../../shared/db/machine-schema.ts";
import { mcpWebhook } from "../../shared/db/mcp-schema.ts";
import { ssfStream } from "../../shared/db/ssf-schema.ts";
import { vaultProvider } from "../../shared/db/vault-schema.ts";
import { OUTBOUND_URL_FORBIDDEN } from "../../shared/http/outbound-url.ts";
import { MAX_WEBHOOK_ATTEMPTS } from "../../workers/token/src/mcp/webhook-delivery.ts";
import { adminRequest } from "./admin-fixtures.ts";
import { assertionParams, clientAssertion, registerTestClient, type TestClient } from "./clients-fixtures.ts";
import { expectOAuthError, seedSession, tokenRequest } from "./fixtures.ts";
import { fileRequest, operatorToken, setup } from "./mcp-access-fixtures.ts";
import { createStream, receiverLog, receiverToken, registerReceiver, revokeInOrg } from "./ssf-fixtures.ts";
import { atProvider, callback, createProvider, startAsUser, UPSTREAM, upstream } from "./vault-fixtures.ts";

// The fetch-time half of the outbound guard (shared/http/outbound-url.ts):
// a URL stored before the guard existed, or written around the admin API,
// is refused right before the request, and what a remote answers never
// reaches our caller. Remote hosts are stood in for by a spy on the
// Worker's fetch that records every URL asked for.

afterEach(() => vi.restoreAllMocks());

/** Records every URL the Worker fetches; `answer` may stand in for a host, else the provider Worker or the network. */
function recordFetches(answer: (url: URL) => Response | undefined = () => undefined): string[] {
  const seen: string[] = [];
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation((input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    seen.push(url.href);
    const stood = answer(url);
    if (stood) return Promise.resolve(stood);
    return url.origin === UPSTREAM ? upstream().fetch(request) : realFetch(input, init);
  });
  return seen;
}

/** A private_key_jwt client whose keys are at `jwksUri`, written straight into D1. */
async function clientWithJwksUri(jwksUri: string): Promise<TestClient> {
  const client = await registerTestClient({ authMethod: "private_key_jwt" });
  await drizzle(env.DB)
    .update(oauthClient)
    .set({ jwks: null, jwksUri })
    .where(eq(oauthClient.clientId, client.clientId));
  return client;
}

async function assertionRequest(client: TestClient): Promise<Response> {
  return tokenRequest(assertionParams(await clientAssertion(client), { grant_type: GRANT_TYPE.clientCredentials }));
}

describe("client jwks_uri at fetch time", () => {
  it("refuses an internal jwks_uri stored in D1 without fetching it (401 invalid_client)", async () => {
    const seen = recordFetches();
    const client = await clientWithJwksUri("https://10.0.0.1/jwks.json");
    await expectOAuthError(await assertionRequest(client), 401, "invalid_client");
    expect(seen.filter((url) => url.startsWith("https://10.0.0.1/"))).toEqual([]);
  });

  it("remembers a failed fetch for the cooldown: 10 assertions against a failing jwks_uri make at most 2 fetches", async () => {
    const jwksUri = `https://keys-${crypto.randomUUID()}.example.com/jwks.json`;
    const seen = recordFetches((url) => (url.href === jwksUri ? new Response("down", { status: 503 }) : undefined));
    const client = await clientWithJwksUri(jwksUri);
    for (let i = 0; i < 10; i++) await expectOAuthError(await assertionRequest(client), 401, "invalid_client");
    expect(seen.filter((url) => url === jwksUri).length).toBeLessThanOrEqual(2);
  });
});

describe("vault token endpoint at fetch time", () => {
  it("refuses an internal token endpoint stored in D1 without sending it the client secret (502 connection_failed)", async () => {
    const seen = recordFetches();
    const s = await seedSession();
    const provider = await createProvider(s.orgId);
    await drizzle(env.DB)
      .update(vaultProvider)
      .set({ tokenEndpoint: "https://169.254.169.254/latest/token" })
      .where(eq(vaultProvider.id, provider.id));
    const back = await atProvider(await startAsUser(s, provider.name));
    await expectOAuthError(await callback(back, s), 502, "connection_failed");
    expect(seen.filter((url) => url.startsWith("https://169.254.169.254/"))).toEqual([]);
  });

  it("keeps the status of a provider's refusal but never echoes the provider's error text", async () => {
    const marker = `AccessKeyId=AKIA${crypto.randomUUID().replaceAll("-", "").slice(0, 16).toUpperCase()}`;
    recordFetches((url) =>
      url.hostname === "leaky.vault.test"
        ? Response.json({ error: `invalid_client ${marker}`, error_description: marker }, { status: 403 })
        : undefined,
    );
    const s = await seedSession();
    const provider = await createProvider(s.orgId, { token_endpoint: "https://leaky.vault.test/token" });
    const back = await atProvider(await startAsUser(s, provider.name));
    const response = await callback(back, s);
    const text = await response.clone().text();
    const body = await expectOAuthError(response, 502, "connection_failed");
    expect(body.error_description).toContain("403");
    expect(text).not.toContain(marker);
  });
});

describe("SSF push endpoint at fetch time", () => {
  it("never pushes to an internal endpoint stored in D1, while the org's other stream is pushed to", async () => {
    const client = await registerReceiver();
    const token = await receiverToken(client);
    const [control, internal] = [`ctl-${crypto.randomUUID()}`, `int-${crypto.randomUUID()}`];
    const stream = (name: string) => ({
      aud: `https://${name}.example`,
      events_requested: [SSF_EVENT.sessionRevoked],
      delivery: { method: SSF_DELIVERY.push, endpoint_url: `https://receiver.test/push/${name}` },
    });
    await createStream(token, stream(control));
    const streamId = await createStream(token, stream(internal));
    // The test receiver answers whatever host it is asked for: without the guard it would log this push.
    await drizzle(env.DB)
      .update(ssfStream)
      .set({ endpointUrl: `https://169.254.169.254/push/${internal}` })
      .where(eq(ssfStream.streamId, streamId));
    await revokeInOrg(client.orgId as string, "subject", "user-1", "member removed");
    await expect.poll(async () => (await receiverLog(control)).received.length, { timeout: 20_000 }).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await receiverLog(internal)).attempts).toBe(0);
  }, 30_000);
});

describe("access webhook at fetch time", () => {
  it("never sends an event to an internal URL stored in D1: every attempt refused without a request, then given up", async () => {
    const { orgId, token } = await setup();
    const name = `hook-${crypto.randomUUID()}`;
    const set = await adminRequest("PUT", `/orgs/${orgId}/access-webhook`, {
      token: await operatorToken(),
      body: { url: `https://hooks.example.test/push/${name}` },
    });
    expect(set.status).toBe(200);
    await drizzle(env.DB)
      .update(mcpWebhook)
      .set({ url: `https://169.254.169.254/push/${name}` })
      .where(eq(mcpWebhook.orgId, orgId));
    await fileRequest(token);
    const gaveUp = () =>
      env.AUDIT_DB.prepare("SELECT detail FROM audit_event WHERE org_id = ? AND kind = 'mcp.webhook'")
        .bind(orgId)
        .all<{ detail: string }>()
        .then((r) => r.results.map((row) => JSON.parse(row.detail) as Record<string, unknown>));
    await expect
      .poll(gaveUp, { timeout: 30_000 })
      .toEqual([
        expect.objectContaining({ action: "gave_up", attempts: MAX_WEBHOOK_ATTEMPTS, error: OUTBOUND_URL_FORBIDDEN }),
      ]);
    expect((await receiverLog(name)).attempts).toBe(0);
  }, 60_000);
});
