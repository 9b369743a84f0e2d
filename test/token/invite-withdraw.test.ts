// GET and DELETE /admin/v1/orgs/{org}/invites (workers/token/src/admin/invites.ts):
// an operator lists an org's host invites without their JWTs and withdraws
// one nobody has redeemed; a withdrawn invite no longer redeems
// (invite_invalid), and a withdrawal racing redemptions leaves exactly one
// winner.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { adminRequest, adminToken, expectHttpError, registerOperator } from "./admin-fixtures.ts";
import { createTestOrg } from "./clients-fixtures.ts";
import { expectOAuthError, freshClientAddress } from "./fixtures.ts";
import { hostKey, possessionProof, type TestHostKey } from "./invite-fixtures.ts";
import type { InviteView } from "../../shared/contracts/host-invites.ts";

interface CreatedInvite {
  invite: string;
  jti: string;
}

async function createInvite(orgId: string, token: string, labels: Record<string, string> = {}): Promise<CreatedInvite> {
  const response = await adminRequest("POST", `/orgs/${orgId}/invites`, {
    token,
    body: { scopes: ["documents:read"], ttl_seconds: 600, labels },
  });
  expect(response.status).toBe(201);
  return (await response.json()) as CreatedInvite;
}

const withdraw = (orgId: string, jti: string, token: string) =>
  adminRequest("DELETE", `/orgs/${orgId}/invites/${jti}`, { token });

const list = (orgId: string, token: string, query = "") =>
  adminRequest("GET", `/orgs/${orgId}/invites${query}`, { token });

const ROUNDS = 25;
const STAGGER_MS = 2;

interface Outcome {
  status: number;
  error: string | undefined;
}
interface Round {
  withdrawal: Outcome;
  redemptions: Outcome[];
}

async function errorOf(response: Response): Promise<string | undefined> {
  return ((await response.json()) as { error?: string }).error;
}

async function redeem(invite: string, key?: TestHostKey): Promise<Response> {
  return bootstrap({ invite, proof: await possessionProof(key ?? (await hostKey()), invite) });
}

function bootstrap(body: { invite: string; proof: string }): Promise<Response> {
  return exports.default.fetch(
    new Request(`http://localhost${ENDPOINT.hostBootstrap}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "cf-connecting-ip": freshClientAddress() },
      body: JSON.stringify(body),
    }),
  );
}

const clientCount = async (orgId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM oauth_client WHERE org_id = ?").bind(orgId).first<{ n: number }>())
    ?.n;

describe("admin API: listing host invites", () => {
  it("lists the org's invites newest first with their state, never an invite JWT; ?state= filters", async () => {
    const operator = await registerOperator();
    const token = await adminToken(operator);
    const orgId = await createTestOrg();
    const redeemed = await createInvite(orgId, token);
    const expired = await createInvite(orgId, token);
    const pending = await createInvite(orgId, token, { host: "web-1", rack: "r1" });
    const elsewhere = await createInvite(await createTestOrg(), token);
    expect((await redeem(redeemed.invite)).status).toBe(201);
    await env.DB.prepare("UPDATE host_invite SET expires_at = ?, created_at = created_at - 1 WHERE jti = ?")
      .bind(Date.now() - 1000, expired.jti)
      .run();
    await env.DB.prepare("UPDATE host_invite SET created_at = created_at - 2 WHERE jti = ?").bind(redeemed.jti).run();

    const response = await list(orgId, token);
    expect(response.status).toBe(200);
    const text = await response.text();
    for (const created of [redeemed, expired, pending, elsewhere]) expect(text).not.toContain(created.invite);
    const { invites } = JSON.parse(text) as { invites: InviteView[] };
    expect(invites.map((i) => [i.jti, i.state])).toEqual([
      [pending.jti, "pending"],
      [expired.jti, "expired"],
      [redeemed.jti, "redeemed"],
    ]);
    expect(invites[0]).toEqual({
      jti: pending.jti,
      org_id: orgId,
      state: "pending",
      labels: { host: "web-1", rack: "r1" },
      scopes: ["documents:read"],
      audiences: [env.ALLOWED_AUDIENCES.split(" ")[0]],
      created_by: operator.clientId,
      created_at: expect.any(String),
      expires_at: expect.any(String),
      redeemed_at: null,
      client_id: null,
      dpop_bound_access_tokens: false,
    });
    expect(invites[2]?.client_id).toMatch(/^mac_/);

    const onlyPending = (await (await list(orgId, token, "?state=pending")).json()) as { invites: InviteView[] };
    expect(onlyPending.invites.map((i) => i.jti)).toEqual([pending.jti]);
    const one = (await (await list(orgId, token, "?limit=1")).json()) as { invites: InviteView[] };
    expect(one.invites.map((i) => i.jti)).toEqual([pending.jti]);
  });

  it("400 invalid_query for a state or limit it cannot use; 404 not_found for an org that does not exist", async () => {
    const token = await adminToken();
    const orgId = await createTestOrg();
    await expectHttpError(await list(orgId, token, "?state=withdrawn"), 400, "invalid_query");
    await expectHttpError(await list(orgId, token, "?limit=501"), 400, "invalid_query");
    await expectHttpError(await list("no-such-org", token), 404, "not_found");
  });
});

describe("admin API: withdrawing a host invite", () => {
  it("200 withdrawn; the invite then redeems nothing: invite_invalid, no client", async () => {
    const token = await adminToken();
    const orgId = await createTestOrg();
    const { invite, jti } = await createInvite(orgId, token, { host: "wrong-host" });
    const response = await withdraw(orgId, jti, token);
    expect(response.status).toBe(200);
    const body = (await response.json()) as InviteView;
    expect(body).toMatchObject({ jti, org_id: orgId, state: "withdrawn", labels: { host: "wrong-host" } });
    expect(JSON.stringify(body)).not.toContain(invite);

    await expectOAuthError(await redeem(invite), 400, "invite_invalid");
    expect(await clientCount(orgId)).toBe(0);
    expect(((await (await list(orgId, token)).json()) as { invites: unknown[] }).invites).toEqual([]);
  });

  it("a second withdrawal is 404 not_found, not a second success", async () => {
    const token = await adminToken();
    const orgId = await createTestOrg();
    const { jti } = await createInvite(orgId, token);
    expect((await withdraw(orgId, jti, token)).status).toBe(200);
    await expectHttpError(await withdraw(orgId, jti, token), 404, "not_found");
  });

  it("404 not_found for another org's invite, which stays redeemable; 404 for an unknown jti", async () => {
    const token = await adminToken();
    const orgId = await createTestOrg();
    const other = await createTestOrg();
    const theirs = await createInvite(other, token);
    await expectHttpError(await withdraw(orgId, theirs.jti, token), 404, "not_found");
    await expectHttpError(await withdraw(orgId, crypto.randomUUID(), token), 404, "not_found");
    expect((await redeem(theirs.invite)).status).toBe(201);
  });

  it("409 conflict for an invite a host already redeemed: its client stays", async () => {
    const token = await adminToken();
    const orgId = await createTestOrg();
    const { invite, jti } = await createInvite(orgId, token);
    const { client_id } = (await (await redeem(invite)).json()) as { client_id: string };
    const problem = await expectHttpError(await withdraw(orgId, jti, token), 409, "conflict");
    expect(problem.detail).toContain(client_id);
    expect(await clientCount(orgId)).toBe(1);
  });

  it("401 without an operator's token; 405 method_not_allowed with Allow for a method the path does not take", async () => {
    const token = await adminToken();
    const orgId = await createTestOrg();
    const { jti } = await createInvite(orgId, token);
    const anonymous = await adminRequest("DELETE", `/orgs/${orgId}/invites/${jti}`);
    expect(anonymous.status).toBe(401);
    const put = await adminRequest("PUT", `/orgs/${orgId}/invites/${jti}`, { token, body: {} });
    await expectHttpError(put, 405, "method_not_allowed");
    expect(put.headers.get("Allow")).toBe("DELETE");
    expect((await list(orgId, token, "?state=pending")).status).toBe(200);
  });

  it("is audited as an admin action naming the invite's jti, never the invite", async () => {
    const operator = await registerOperator();
    const token = await adminToken(operator);
    const orgId = await createTestOrg();
    const { invite, jti } = await createInvite(orgId, token);
    expect((await withdraw(orgId, jti, token)).status).toBe(200);
    await expect
      .poll(async () => {
        const row = await env.AUDIT_DB.prepare(
          "SELECT outcome, client_id, detail FROM audit_event WHERE kind = 'admin.action' AND org_id = ? AND detail LIKE '%invite.withdraw%'",
        )
          .bind(orgId)
          .first<{ outcome: string; client_id: string; detail: string }>();
        return row && { ...row, detail: JSON.parse(row.detail) };
      })
      .toMatchObject({
        outcome: "allow",
        client_id: operator.clientId,
        detail: { action: "invite.withdraw", jti, method: "DELETE", status: 200 },
      });
    const { results } = await env.AUDIT_DB.prepare("SELECT detail FROM audit_event WHERE org_id = ?").bind(orgId).all();
    expect(JSON.stringify(results)).not.toContain(invite);
  });

  it("races redemptions: per invite exactly one of the withdrawal and the redemptions wins, whichever lands first", async () => {
    const token = await adminToken();
    const orgId = await createTestOrg();
    const key = await hostKey();
    const invites = await Promise.all(Array.from({ length: ROUNDS }, () => createInvite(orgId, token)));
    // The proofs are made beforehand, so the only work left is the requests'.
    const proofs = await Promise.all(
      invites.map(({ invite }) => Promise.all(Array.from({ length: 5 }, () => possessionProof(key, invite)))),
    );
    const rounds: Round[] = [];
    for (const [i, { invite, jti }] of invites.entries()) {
      // The withdrawal leaves from 24 ms before the redemptions to 24 ms
      // after them, so rounds go each way and those near 0 are true races
      // (which request's write reaches D1 first is not decided by who left first).
      const lead = (i - Math.floor(ROUNDS / 2)) * STAGGER_MS;
      const [withdrawal, ...redemptions] = await Promise.all([
        scheduler.wait(Math.max(0, lead)).then(() => withdraw(orgId, jti, token)),
        ...(proofs[i] ?? []).map((proof) =>
          scheduler.wait(Math.max(0, -lead)).then(() => bootstrap({ invite, proof })),
        ),
      ]);
      rounds.push({
        withdrawal: { status: withdrawal.status, error: await errorOf(withdrawal) },
        redemptions: await Promise.all(redemptions.map(async (r) => ({ status: r.status, error: await errorOf(r) }))),
      });
    }
    let withdrawalsWon = 0;
    for (const { withdrawal, redemptions } of rounds) {
      if (withdrawal.status === 200) {
        withdrawalsWon += 1;
        expect(redemptions).toEqual(redemptions.map(() => ({ status: 400, error: "invite_invalid" })));
      } else {
        expect(withdrawal).toEqual({ status: 409, error: "conflict" });
        const [won, ...lost] = [...redemptions].sort((a, b) => a.status - b.status);
        expect(won).toEqual({ status: 201, error: undefined });
        expect(lost).toEqual(lost.map(() => ({ status: 409, error: "invite_already_used" })));
      }
    }
    // Each order left what it should: one client per redeemed invite, none for a withdrawn one. How many
    // rounds went each way is the scheduler's (the stagger makes both likely, never certain), so it is not
    // asserted; each order's answers are also pinned one request after the other above ("200 withdrawn…",
    // "409 conflict for an invite a host already redeemed…").
    expect(await clientCount(orgId)).toBe(ROUNDS - withdrawalsWon);
  }, 120_000);
});
