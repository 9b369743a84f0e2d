// A client deleted between an admin call's read of it and its write (another
// operator's DELETE, or a retried one, landing in between): the call answers
// 404 not_found, as it would have a moment later, never a 500. The concurrent
// delete is made to land exactly there by a trigger on the write itself, so
// the test does not depend on how the requests interleave.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { createTestOrg } from "./clients-fixtures.ts";
import { AUDIENCE } from "./fixtures.ts";

const TRIGGER = "delete_client_under_the_write";

afterEach(async () => {
  await env.DB.prepare(`DROP TRIGGER IF EXISTS ${TRIGGER}`).run();
});

/** From now on, the next write to this client finds it deleted (the concurrent DELETE won). */
async function deleteUnderTheNextWrite(clientId: string): Promise<void> {
  await env.DB.prepare(
    `CREATE TRIGGER ${TRIGGER} BEFORE UPDATE ON oauth_client WHEN OLD.client_id = '${clientId}'
     BEGIN DELETE FROM oauth_client WHERE client_id = OLD.client_id; SELECT RAISE(IGNORE); END`,
  ).run();
}

async function createClient(token: string, orgId: string): Promise<string> {
  const response = await adminRequest("POST", `/orgs/${orgId}/clients`, {
    token,
    body: { client_name: "vanishing", client_type: "machine", scope: "documents:read", audiences: [AUDIENCE] },
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { client_id: string }).client_id;
}

describe("admin API: a client deleted under a call that read it", () => {
  for (const [name, method, suffix] of [
    ["DELETE", "DELETE", ""],
    ["disable", "POST", "/disable"],
    ["rotate-secret", "POST", "/rotate-secret"],
  ] as const) {
    it(`${name}: 404 not_found, not a 500; the client is gone`, async () => {
      const token = await adminToken();
      const orgId = await createTestOrg();
      const clientId = await createClient(token, orgId);
      const path = `/orgs/${orgId}/clients/${clientId}`;
      await deleteUnderTheNextWrite(clientId);
      await expectHttpError(await adminRequest(method, `${path}${suffix}`, { token }), 404, "not_found");
      await expectHttpError(await adminRequest("GET", path, { token }), 404, "not_found");
    });
  }
});
