// A client PATCH judges whether it narrows against the row it read
// (admin/client-narrowing.ts); another PATCH can land between that read and
// its write. The write therefore lands only on the row it judged (its
// `updated_at`), and otherwise the row is read and judged again: a change
// that narrows nothing of what it read, but narrows what a concurrent
// widening let the client mint meanwhile, still records the client's cut-off
// before it resolves. The interleaving is made exact by handing changeClient
// the row as it was read before the other PATCH (what the handler holds in
// that race); D1, the org's Durable Object and the mint are the real ones.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import type { RevocableClaims } from "../../shared/contracts/revocation.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { GRANT_TYPE } from "../../shared/contracts/tokens.ts";
import { HttpError } from "../../shared/errors/http.ts";
import { parseClientChanges } from "../../workers/token/src/admin/client-body.ts";
import { changeClient } from "../../workers/token/src/admin/client-narrowing.ts";
import { findOrgClient } from "../../workers/token/src/clients/client-store.ts";
import type { StoredClient } from "../../workers/token/src/clients/types.ts";
import { tokenConfig } from "../../workers/token/src/config.ts";
import { adminRequest, adminToken, clientRevocations } from "./admin-fixtures.ts";
import { basicAuthorization, createTestOrg } from "./clients-fixtures.ts";
import { AUDIENCE, tokenRequest } from "./fixtures.ts";

const WIDE = "documents:read revocations:read";
const NARROW = "documents:read";

let admin: string;
beforeAll(async () => {
  admin = await adminToken();
});

async function narrowClient() {
  const orgId = await createTestOrg();
  const response = await adminRequest("POST", `/orgs/${orgId}/clients`, {
    token: admin,
    body: { client_name: "stale", client_type: "machine", scope: NARROW, audiences: [AUDIENCE] },
  });
  expect(response.status).toBe(201);
  const { client_id, client_secret } = (await response.json()) as { client_id: string; client_secret: string };
  return { orgId, clientId: client_id, secret: client_secret, path: `/orgs/${orgId}/clients/${client_id}` };
}

async function read(orgId: string, clientId: string): Promise<StoredClient> {
  const client = await findOrgClient(env.DB, orgId, clientId);
  if (!client) throw new Error("no client");
  return client;
}

/** changeClient as the PATCH handler calls it, with the row it read. */
async function change(stale: StoredClient, body: Record<string, unknown>): Promise<StoredClient> {
  const ctx = createExecutionContext();
  try {
    return await changeClient(env as unknown as TokenEnv, stale, parseClientChanges(body, tokenConfig(env)), (p) =>
      ctx.waitUntil(p),
    );
  } finally {
    await waitOnExecutionContext(ctx);
  }
}

function isRevoked(token: string): Promise<boolean> {
  const claims = decodeJwt(token) as unknown as RevocableClaims;
  return env.ORG_STATE.getByName(orgStateName(claims.org_id)).isRevoked(claims);
}

describe("a client change whose read went stale before its write", () => {
  it("narrowing what a concurrent widening allowed, it records the cut-off: the wider token is refused", async () => {
    const client = await narrowClient();
    const stale = await read(client.orgId, client.clientId);

    // Another PATCH widens the client after that read, and the client mints under it.
    const widened = await adminRequest("PATCH", client.path, { token: admin, body: { scope: WIDE } });
    expect(widened.status).toBe(200);
    const minted = await tokenRequest(
      { grant_type: GRANT_TYPE.clientCredentials, scope: WIDE },
      { headers: { Authorization: basicAuthorization(client.clientId, client.secret) } },
    );
    expect(minted.status).toBe(200);
    const wide = ((await minted.json()) as { access_token: string }).access_token;
    expect(await clientRevocations(client.orgId)).toEqual([]);

    // The change read NARROW and sets NARROW: nothing narrowed of what it read.
    const after = await change(stale, { scope: NARROW });
    expect(after.scopes).toEqual([NARROW]);
    expect(await clientRevocations(client.orgId)).toEqual([client.clientId]);
    expect(await isRevoked(wide)).toBe(true);
    expect((await read(client.orgId, client.clientId)).pendingCutoff).toBeNull();
  });

  it("a change that narrows nothing of the row it is written over records nothing, stale or not", async () => {
    const client = await narrowClient();
    const stale = await read(client.orgId, client.clientId);
    expect((await adminRequest("PATCH", client.path, { token: admin, body: { client_name: "other" } })).status).toBe(
      200,
    );
    const after = await change(stale, { scope: WIDE });
    expect(after.scopes).toEqual(WIDE.split(" "));
    expect(after.name).toBe("other");
    expect(await clientRevocations(client.orgId)).toEqual([]);
  });

  it("a client deleted between the read and the write is 404 not_found, not a 500", async () => {
    const client = await narrowClient();
    const stale = await read(client.orgId, client.clientId);
    expect((await adminRequest("DELETE", client.path, { token: admin })).status).toBe(200);
    const refused = await change(stale, { scope: NARROW }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(HttpError);
    expect((refused as HttpError).code).toBe("not_found");
  });
});
