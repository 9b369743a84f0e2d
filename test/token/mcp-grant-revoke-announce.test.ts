// Revoking a person's MCP grant (DELETE /orgs/{org}/mcp-grants/{id}) revokes its delegation grant too,
// and announces the revocation once (the `mcp.grant` audit event and the `grant.revoked` webhook), by
// the call whose write changed the MCP grant (workers/token/src/mcp/review.ts). The MCP grant was marked
// first: when the delegation grant's write then failed (503), the retry found the MCP grant revoked
// already, changed nothing, and announced nothing, ever. The delegation grant is now revoked first
// (idempotent), so the MCP grant's write, which decides the announcement, is the last.
//
// D1 fails for one row by a trigger that aborts its update: a real D1 error, no binding mocked.
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { adminRequest, expectHttpError } from "./admin-fixtures.ts";
import { approve, fileRequest, type GrantView, operatorToken, setup } from "./mcp-access-fixtures.ts";
import { seedMember } from "./token-exchange-fixtures.ts";

let operator: string;
beforeAll(async () => {
  operator = await operatorToken();
});

interface ReceiverLog {
  received: { body: string }[];
}

const receiver = (env as unknown as { SSF_TEST_RECEIVER: Fetcher }).SSF_TEST_RECEIVER;

async function webhookEvents(name: string): Promise<string[]> {
  const log = (await (await receiver.fetch(`https://hooks.example.test/push/${name}`)).json()) as ReceiverLog;
  return log.received.map((delivery) => Object.keys(decodeJwt(delivery.body).events as object)[0] as string);
}

async function revokeAudits(orgId: string, grantId: string): Promise<number> {
  const rows = await env.AUDIT_DB.prepare(
    "SELECT detail FROM audit_event WHERE kind = 'mcp.grant' AND org_id = ? AND detail LIKE '%\"revoke\"%'",
  )
    .bind(orgId)
    .all<{ detail: string }>();
  return rows.results.filter((row) => (JSON.parse(row.detail) as { grant_id: string }).grant_id === grantId).length;
}

async function grantEntries(orgId: string): Promise<string[]> {
  const snapshot = await env.ORG_STATE.getByName(orgStateName(orgId)).snapshot(orgId);
  return snapshot.entries.filter((entry) => entry.kind === "grant").map((entry) => entry.value);
}

describe("revoking a person's MCP grant whose delegation grant's write fails", () => {
  it("503, then the retry revokes both and announces it once (audit and grant.revoked)", async () => {
    const { orgId, token } = await setup();
    const userId = await seedMember(orgId);
    const name = `hook-${crypto.randomUUID()}`;
    const hooked = await adminRequest("PUT", `/orgs/${orgId}/access-webhook`, {
      token: operator,
      body: { url: `https://hooks.example.test/push/${name}` },
    });
    expect(hooked.status).toBe(200);
    const request = await fileRequest(token, {
      server: "demo",
      tools: ["purge_documents"],
      scopes: ["documents:read"],
      on_behalf_of: userId,
      reason: "act for the person",
      ttl_seconds: 3600,
    });
    const { grant } = (await (await approve(orgId, request.id)).json()) as { grant: GrantView };
    const delegationGrantId = grant.delegation_grant_id ?? "";
    expect(delegationGrantId).toMatch(/^dg_/);
    await expect.poll(() => webhookEvents(name)).toEqual(["access_request.created", "access_request.approved"]);

    const trigger = `refuse_${crypto.randomUUID().replaceAll("-", "")}`;
    await env.DB.prepare(
      `CREATE TRIGGER ${trigger} BEFORE UPDATE ON delegation_grant WHEN OLD.id = '${delegationGrantId}'
       BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`,
    ).run();
    try {
      await expectHttpError(
        await adminRequest("DELETE", `/orgs/${orgId}/mcp-grants/${grant.id}`, { token: operator }),
        503,
        "temporarily_unavailable",
      );
    } finally {
      await env.DB.prepare(`DROP TRIGGER ${trigger}`).run();
    }
    expect(await grantEntries(orgId)).toEqual([delegationGrantId]);

    const retried = await adminRequest("DELETE", `/orgs/${orgId}/mcp-grants/${grant.id}`, { token: operator });
    expect(retried.status).toBe(200);
    expect((await retried.json()) as GrantView).toMatchObject({ id: grant.id, status: "revoked" });
    const delegation = await env.DB.prepare("SELECT status FROM delegation_grant WHERE id = ?")
      .bind(delegationGrantId)
      .first<{ status: string }>();
    expect(delegation?.status).toBe("revoked");
    await expect
      .poll(() => webhookEvents(name))
      .toEqual(["access_request.created", "access_request.approved", "grant.revoked"]);
    await expect.poll(() => revokeAudits(orgId, grant.id)).toBe(1);
  });
});
