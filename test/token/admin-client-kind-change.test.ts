// A client PATCH that changes `client_type` (admin/client-narrowing.ts
// narrows): the org's token policy holds agents and machines to different
// rules (a TTL cap of each kind's own, DPoP for agents only), so a token the
// old kind was minted outlives the change unless the client's cut-off is
// recorded before the 200. Real runtime: the token Worker, D1 and the org's
// Durable Object; the cut-off is read from the object itself.
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import type { RevocableClaims } from "../../shared/contracts/revocation.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { GRANT_TYPE } from "../../shared/contracts/tokens.ts";
import { adminRequest, adminToken, clientRevocations } from "./admin-fixtures.ts";
import { basicAuthorization, createTestOrg } from "./clients-fixtures.ts";
import { AUDIENCE, tokenRequest } from "./fixtures.ts";

const SCOPE = "documents:read";
const AGENT_TTL = 60;

let admin: string;
beforeAll(async () => {
  admin = await adminToken();
});

async function clientOfKind(kind: "machine" | "agent") {
  const orgId = await createTestOrg();
  const policy = await adminRequest("PUT", `/orgs/${orgId}/token-policy`, {
    token: admin,
    body: { max_ttl_agent_seconds: AGENT_TTL },
  });
  expect(policy.status).toBe(200);
  const response = await adminRequest("POST", `/orgs/${orgId}/clients`, {
    token: admin,
    body: { client_name: "kind", client_type: kind, scope: SCOPE, audiences: [AUDIENCE] },
  });
  expect(response.status).toBe(201);
  const { client_id, client_secret } = (await response.json()) as { client_id: string; client_secret: string };
  return { orgId, clientId: client_id, secret: client_secret, path: `/orgs/${orgId}/clients/${client_id}` };
}

async function mint(client: { clientId: string; secret: string }): Promise<{ token: string; expiresIn: number }> {
  const response = await tokenRequest(
    { grant_type: GRANT_TYPE.clientCredentials, scope: SCOPE },
    { headers: { Authorization: basicAuthorization(client.clientId, client.secret) } },
  );
  expect(response.status).toBe(200);
  const body = (await response.json()) as { access_token: string; expires_in: number };
  return { token: body.access_token, expiresIn: body.expires_in };
}

function isRevoked(token: string): Promise<boolean> {
  const claims = decodeJwt(token) as unknown as RevocableClaims;
  return env.ORG_STATE.getByName(orgStateName(claims.org_id)).isRevoked(claims);
}

describe("a client PATCH that changes client_type", () => {
  it("machine to agent: the machine's token, past the agents' TTL cap, is cut off before the 200", async () => {
    const client = await clientOfKind("machine");
    const old = await mint(client);
    expect(old.expiresIn).toBeGreaterThan(AGENT_TTL);

    const changed = await adminRequest("PATCH", client.path, { token: admin, body: { client_type: "agent" } });
    expect(changed.status).toBe(200);
    expect(((await changed.json()) as { client_type: string }).client_type).toBe("agent");
    expect(await clientRevocations(client.orgId)).toEqual([client.clientId]);
    expect(await isRevoked(old.token)).toBe(true);
    // What the new registration mints: the agents' cap.
    expect((await mint(client)).expiresIn).toBeLessThanOrEqual(AGENT_TTL);
  });

  it("agent to machine is cut off too, and a PATCH that names the same type records nothing", async () => {
    const client = await clientOfKind("agent");
    const same = await adminRequest("PATCH", client.path, { token: admin, body: { client_type: "agent" } });
    expect(same.status).toBe(200);
    expect(await clientRevocations(client.orgId)).toEqual([]);

    const old = await mint(client);
    const changed = await adminRequest("PATCH", client.path, { token: admin, body: { client_type: "machine" } });
    expect(changed.status).toBe(200);
    expect(await clientRevocations(client.orgId)).toEqual([client.clientId]);
    expect(await isRevoked(old.token)).toBe(true);
  });
});
