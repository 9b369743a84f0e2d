// A narrowing client PATCH (admin/client-narrowing.ts) writes the change
// and a mark in one D1 write, then records the client's cut-off, then
// clears the mark. When the cut-off cannot be recorded the answer is 503
// with the change written and the mark left, and the next change of the
// client, whatever it changes, records the cut-off before it answers: a
// token the old registration minted never outlives a 200.
//
// The refusal is the org's Durable Object's own: it records values of at
// most 256 characters (workers/org-state/src/revocation-recording.ts), so a client
// whose id is renamed past that in D1 cannot be recorded; renamed back, the
// object answers again. Nothing of ours is stood in for. When no change
// follows, the cron trigger records the owed cut-off (clients/owed-cutoffs.ts).
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import type { RevocableClaims } from "../../shared/contracts/revocation.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { GRANT_TYPE } from "../../shared/contracts/tokens.ts";
import { adminRequest, adminToken, clientRevocations, expectHttpError } from "./admin-fixtures.ts";
import { basicAuthorization, createTestOrg } from "./clients-fixtures.ts";
import { runCron } from "./cron-fixture.ts";
import { AUDIENCE, expectOAuthError, tokenRequest } from "./fixtures.ts";

const WIDE = "documents:read revocations:read";
const NARROW = "documents:read";

let admin: string;
beforeAll(async () => {
  admin = await adminToken();
});

interface Client {
  orgId: string;
  clientId: string;
  secret: string;
  path: string;
}

async function wideClient(): Promise<Client> {
  const orgId = await createTestOrg();
  const response = await adminRequest("POST", `/orgs/${orgId}/clients`, {
    token: admin,
    body: { client_name: "narrowed", client_type: "machine", scope: WIDE, audiences: [AUDIENCE] },
  });
  expect(response.status).toBe(201);
  const { client_id, client_secret } = (await response.json()) as { client_id: string; client_secret: string };
  return { orgId, clientId: client_id, secret: client_secret, path: `/orgs/${orgId}/clients/${client_id}` };
}

function mint(client: Client, scope: string): Promise<Response> {
  return tokenRequest(
    { grant_type: GRANT_TYPE.clientCredentials, scope },
    { headers: { Authorization: basicAuthorization(client.clientId, client.secret) } },
  );
}

async function minted(client: Client, scope: string): Promise<string> {
  const response = await mint(client, scope);
  expect(response.status).toBe(200);
  const body = (await response.json()) as { access_token: string; scope: string };
  expect(body.scope).toBe(scope);
  return body.access_token;
}

/** Whether the org's object refuses this token now (OrgState.isRevoked, the check introspection and userinfo make). */
function isRevoked(token: string): Promise<boolean> {
  const claims = decodeJwt(token) as unknown as RevocableClaims;
  return env.ORG_STATE.getByName(orgStateName(claims.org_id)).isRevoked(claims);
}

async function pendingCutoff(clientId: string): Promise<string | null> {
  const row = await env.DB.prepare("SELECT pending_cutoff FROM oauth_client WHERE client_id = ?")
    .bind(clientId)
    .first<{ pending_cutoff: string | null }>();
  return row?.pending_cutoff ?? null;
}

function renameClient(from: string, to: string) {
  return env.DB.prepare("UPDATE oauth_client SET client_id = ? WHERE client_id = ?").bind(to, from).run();
}

/**
 * Narrows `client` from WIDE to NARROW while the org's object refuses its
 * cut-off: 503 temporarily_unavailable, the change written, the mark left,
 * nothing recorded. The client is answerable again when this returns.
 */
async function narrowingThatFailedToRecord(client: Client): Promise<void> {
  const unrecordable = `${client.clientId}${"0".repeat(300)}`;
  await renameClient(client.clientId, unrecordable);
  try {
    await expectHttpError(
      await adminRequest("PATCH", `/orgs/${client.orgId}/clients/${unrecordable}`, {
        token: admin,
        body: { scope: NARROW },
      }),
      503,
      "temporarily_unavailable",
    );
  } finally {
    await renameClient(unrecordable, client.clientId);
  }
  const read = await adminRequest("GET", client.path, { token: admin });
  expect(await read.json()).toMatchObject({ scope: NARROW, cutoff_pending: true });
  expect(await pendingCutoff(client.clientId)).not.toBeNull();
  expect(await clientRevocations(client.orgId)).toEqual([]);
}

describe("a narrowing client PATCH whose cut-off could not be recorded", () => {
  it("is 503 with the change written; the client mints only under the new registration meanwhile", async () => {
    const client = await wideClient();
    await minted(client, WIDE);
    await narrowingThatFailedToRecord(client);
    await expectOAuthError(await mint(client, WIDE), 400, "invalid_scope");
    await minted(client, NARROW);
  });

  it("the same PATCH retried records the cut-off although D1 already holds its values: the old registration's tokens are refused", async () => {
    const client = await wideClient();
    const old = await minted(client, WIDE);
    await narrowingThatFailedToRecord(client);
    expect(await isRevoked(old)).toBe(false);

    const retried = await adminRequest("PATCH", client.path, { token: admin, body: { scope: NARROW } });
    expect(retried.status).toBe(200);
    expect(((await retried.json()) as { scope: string }).scope).toBe(NARROW);
    expect(await clientRevocations(client.orgId)).toEqual([client.clientId]);
    expect(await isRevoked(old)).toBe(true);
    expect(await pendingCutoff(client.clientId)).toBeNull();
  });

  it.each([
    ["a rename", { client_name: "renamed" }],
    ["a change that widens back", { scope: WIDE }],
  ])("%s, the next change, records the owed cut-off first", async (_, body) => {
    const client = await wideClient();
    const old = await minted(client, WIDE);
    await narrowingThatFailedToRecord(client);

    const next = await adminRequest("PATCH", client.path, { token: admin, body });
    expect(next.status).toBe(200);
    expect(await isRevoked(old)).toBe(true);
    expect(await pendingCutoff(client.clientId)).toBeNull();
    // Owed no more: a change that narrows nothing records nothing again.
    const version = (await env.ORG_STATE.getByName(orgStateName(client.orgId)).snapshot(client.orgId)).version;
    expect((await adminRequest("PATCH", client.path, { token: admin, body: { client_name: "again" } })).status).toBe(
      200,
    );
    expect((await env.ORG_STATE.getByName(orgStateName(client.orgId)).snapshot(client.orgId)).version).toBe(version);
  });

  it("a retry that still cannot record is 503 again and keeps the mark", async () => {
    const client = await wideClient();
    await narrowingThatFailedToRecord(client);
    const unrecordable = `${client.clientId}${"0".repeat(300)}`;
    await renameClient(client.clientId, unrecordable);
    try {
      await expectHttpError(
        await adminRequest("PATCH", `/orgs/${client.orgId}/clients/${unrecordable}`, {
          token: admin,
          body: { client_name: "renamed" },
        }),
        503,
        "temporarily_unavailable",
      );
      expect(await pendingCutoff(unrecordable)).not.toBeNull();
    } finally {
      await renameClient(unrecordable, client.clientId);
    }
    expect(await clientRevocations(client.orgId)).toEqual([]);
  });
});

describe("narrowing client PATCHes at once", () => {
  it("each answers 200 only once a cut-off after its write is recorded, and no mark is left", async () => {
    const client = await wideClient();
    const old = await minted(client, WIDE);
    const answers = await Promise.all([
      adminRequest("PATCH", client.path, { token: admin, body: { scope: NARROW } }),
      adminRequest("PATCH", client.path, { token: admin, body: { max_ttl_seconds: 60 } }),
      adminRequest("PATCH", client.path, { token: admin, body: { client_name: "renamed" } }),
    ]);
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(await isRevoked(old)).toBe(true);
    expect(await pendingCutoff(client.clientId)).toBeNull();
  });
});

describe("the cron trigger and an owed cut-off", () => {
  it("records it when no change of the client follows: the old registration's tokens are refused, the mark cleared", async () => {
    const client = await wideClient();
    const old = await minted(client, WIDE);
    await narrowingThatFailedToRecord(client);

    await runCron();
    expect(await clientRevocations(client.orgId)).toEqual([client.clientId]);
    expect(await isRevoked(old)).toBe(true);
    expect(await pendingCutoff(client.clientId)).toBeNull();
    const read = await adminRequest("GET", client.path, { token: admin });
    expect(await read.json()).toMatchObject({ scope: NARROW, cutoff_pending: false });
  });

  it("keeps the mark while the org's object still refuses it, and records it on a later run", async () => {
    const client = await wideClient();
    const old = await minted(client, WIDE);
    await narrowingThatFailedToRecord(client);
    const unrecordable = `${client.clientId}${"0".repeat(300)}`;
    await renameClient(client.clientId, unrecordable);
    try {
      await runCron();
      expect(await pendingCutoff(unrecordable)).not.toBeNull();
    } finally {
      await renameClient(unrecordable, client.clientId);
    }
    expect(await clientRevocations(client.orgId)).toEqual([]);

    await runCron();
    expect(await isRevoked(old)).toBe(true);
    expect(await pendingCutoff(client.clientId)).toBeNull();
  });
});
