// OIDC Back-Channel Logout 1.0 for a person with more sessions than D1
// binds parameters in one statement (100): an operator's ban
// (workers/token/src/admin/person-cutoff.ts) and a SCIM deactivation
// (workers/authn/src/scim/deprovision.ts) still end every session and tell
// its client of each one. The sessions and the issuer's records of the
// client are written straight to D1, as the issuer writes them, so that a
// test need not sign in 101 times.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import {
  backchannelSystem,
  type LogoutReceiver,
  personWithSessions,
  recordSessionsAt,
  registeredRp,
  stallingReceiver,
  verifiedLogoutToken,
} from "../support/backchannel-logout.ts";
import { type InteropOperator, interopOperator } from "../support/interop.ts";
import type { OperatorCli } from "../support/operator-cli.ts";
import type { RunningSystem } from "../support/system.ts";

const SESSIONS = 101;

let system: RunningSystem;
let operator: OperatorCli;
let operatorApi: InteropOperator;
let receiver: LogoutReceiver;

backchannelSystem("backchannel-many", async (setup) => {
  ({ system, operator, receiver } = setup);
  operatorApi = await interopOperator(system);
});

/** A new person with `sessions` sessions besides their sign-up's, each recorded as issued a token to `clientId`; their id and the sessions' ids. */
const personWithManySessions = (clientId: string, sessions = SESSIONS) =>
  personWithSessions(system, sessions, [clientId]);

/** The `sid` of every Logout Token POSTed to `path`, sorted; one verified as an RP must (§2.6). */
async function toldSessions(path: string, clientId: string, sub: string): Promise<string[]> {
  const deliveries = receiver.deliveriesTo(path);
  const first = deliveries[0];
  if (first) expect((await verifiedLogoutToken(system, first.logoutToken, clientId)).sub).toBe(sub);
  return deliveries.map((d) => decodeJwt(d.logoutToken).sid as string).sort();
}

describe("back-channel logout of a person with more than 100 sessions", () => {
  it("an operator's ban: 200, every session ended, the client told of each once", async () => {
    const rp = await registeredRp(system, operator, "many ban", receiver.uri("/many/ban"));
    const { userId, sessionIds } = await personWithManySessions(rp.clientId);

    const ban = await operatorApi.admin("POST", `/users/${userId}/ban`, { reason: "many sessions" });
    expect(ban.status).toBe(200);
    expect(await ban.json()).toMatchObject({ user_id: userId, banned: true, sessions_ended: sessionIds.length });
    await expect.poll(() => receiver.deliveriesTo("/many/ban").length, { timeout: 20_000 }).toBe(sessionIds.length);
    expect(await toldSessions("/many/ban", rp.clientId, userId)).toEqual(sessionIds);
  });

  it("past 400 deliveries a ban still ends every session, and tells the first 400 only", async () => {
    // shared/oidc/backchannel-logout.ts MAX_DELIVERIES: an invocation's subrequests are bounded.
    const rp = await registeredRp(system, operator, "many capped", receiver.uri("/many/capped"));
    const { userId, sessionIds } = await personWithManySessions(rp.clientId, 409);

    const ban = await operatorApi.admin("POST", `/users/${userId}/ban`, { reason: "very many sessions" });
    expect(ban.status).toBe(200);
    expect(await ban.json()).toMatchObject({ user_id: userId, banned: true, sessions_ended: 410 });
    await expect.poll(() => receiver.deliveriesTo("/many/capped").length, { timeout: 30_000 }).toBe(400);
    const told = await toldSessions("/many/capped", rp.clientId, userId);
    expect(new Set(told).size).toBe(400);
    expect(told.every((sid) => sessionIds.includes(sid))).toBe(true);
  });

  it("a receiver that never answers is given one delivery, not one per session; the other client hears of every session", async () => {
    // shared/oidc/backchannel-logout.ts: background work is cut ~30 s after the answer, so one client's
    // slow receiver must not spend the time the others need.
    const silent = await stallingReceiver();
    try {
      const hanging = await registeredRp(system, operator, "many silent", silent.uri("/never"));
      const neighbour = await registeredRp(system, operator, "many neighbour", receiver.uri("/many/neighbour"));
      const { userId, sessionIds } = await personWithManySessions(hanging.clientId, 40);
      await recordSessionsAt(system, userId, neighbour.clientId);

      const ban = await operatorApi.admin("POST", `/users/${userId}/ban`, { reason: "a silent receiver" });
      expect(ban.status).toBe(200);
      await expect
        .poll(() => receiver.deliveriesTo("/many/neighbour").length, { timeout: 30_000 })
        .toBe(sessionIds.length);
      expect(await toldSessions("/many/neighbour", neighbour.clientId, userId)).toEqual(sessionIds);
      // A client holds a second place only once its receiver has answered: this one never did, so it had one.
      await expect.poll(() => silent.arrivals.length).toBe(1);
      // Once that one times out (4 s) the client counts as down and its other 40 are skipped, not sent.
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      expect(silent.arrivals.length).toBe(1);
    } finally {
      silent.close();
    }
  });

  it("a receiver that answers just inside the timeout holds two places, not six: the other client hears of every session", async () => {
    // Answered, so never counted as down: without a per-client share it would take every place in turn
    // and spend the sending window (20 s) before the other client's deliveries; the rounds (every
    // client's first session before any client's second) keep it from going ahead of the other's.
    const slow = createServer((_request, response) => {
      setTimeout(() => response.writeHead(200).end(), 3_000);
    });
    await new Promise<void>((resolve) => slow.listen(0, "127.0.0.1", resolve));
    try {
      const slowRp = await registeredRp(
        system,
        operator,
        "many slow",
        `http://127.0.0.1:${(slow.address() as AddressInfo).port}/slow`,
      );
      const neighbour = await registeredRp(
        system,
        operator,
        "many slow neighbour",
        receiver.uri("/many/slow-neighbour"),
      );
      const { userId, sessionIds } = await personWithManySessions(slowRp.clientId, 40);
      await recordSessionsAt(system, userId, neighbour.clientId);

      const ban = await operatorApi.admin("POST", `/users/${userId}/ban`, { reason: "a slow receiver" });
      expect(ban.status).toBe(200);
      await expect
        .poll(() => receiver.deliveriesTo("/many/slow-neighbour").length, { timeout: 30_000 })
        .toBe(sessionIds.length);
      expect(await toldSessions("/many/slow-neighbour", neighbour.clientId, userId)).toEqual(sessionIds);
    } finally {
      slow.closeAllConnections();
      slow.close();
    }
  });

  it("a dozen clients whose receivers never answer, all ordered before the answering one, do not keep it from hearing of every session", async () => {
    // shared/oidc/backchannel-logout.ts: each client's first session goes before any client's second, and a
    // stalling receiver holds one place for one timeout, so 13 first deliveries start within three timeouts
    // and the stalling clients' second sessions are skipped. First come first served with two places per
    // client, these 24 deliveries would hold the six places for the whole sending window.
    const stalling = await stallingReceiver();
    try {
      const answering = await registeredRp(system, operator, "after the stalls", receiver.uri("/many/after-stalls"));
      const { userId, sessionIds } = await personWithManySessions(answering.clientId, 1);
      // Clients known by their metadata documents' URLs (anyone may publish one naming a stalling URI), written
      // straight to D1; their ids sort before the answering client's (`https://` < `oidc_`), the order in which
      // clients take the places.
      const stallers = Array.from({ length: 12 }, (_, i) => `https://stall-${i}.example.test/${userId}`);
      expect([...stallers, answering.clientId].sort().at(-1)).toBe(answering.clientId);
      for (const clientId of stallers) {
        await system.execMain(
          `INSERT INTO oidc_client (id, client_id, redirect_uris, backchannel_logout_uri, created_at, updated_at)
           VALUES (?1, ?1, '["https://client.example.test/callback"]', ?2, ?3, ?3)`,
          clientId,
          stalling.uri(`/${new URL(clientId).hostname}`),
          Date.now(),
        );
        await recordSessionsAt(system, userId, clientId);
      }

      const ban = await operatorApi.admin("POST", `/users/${userId}/ban`, { reason: "stalling receivers" });
      expect(ban.status).toBe(200);
      await expect
        .poll(() => receiver.deliveriesTo("/many/after-stalls").length, { timeout: 25_000 })
        .toBe(sessionIds.length);
      expect(await toldSessions("/many/after-stalls", answering.clientId, userId)).toEqual(sessionIds);
      // Each stalling client was sent its first session's token once (§2.5), then counted as down.
      await expect
        .poll(() => [...stalling.arrivals].sort(), { timeout: 25_000 })
        .toEqual(stallers.map((clientId) => `/${new URL(clientId).hostname}`).sort());
    } finally {
      stalling.close();
    }
  });

  it("a SCIM deactivation: 200, every session ended, the client told of each once", async () => {
    const rp = await registeredRp(system, operator, "many SCIM", receiver.uri("/many/scim"));
    const orgId = (await operator.json<{ id: string }>("org", "create", "--name", "Many Sessions Directory")).id;
    const { token } = await operator.json<{ token: string }>("scim", "token", "create", "--org", orgId);
    const { userId, sessionIds } = await personWithManySessions(rp.clientId);
    const now = Date.now();
    await system.execMain(
      "INSERT INTO member (id, organization_id, user_id, role, created_at) VALUES (?, ?, ?, 'member', ?)",
      crypto.randomUUID(),
      orgId,
      userId,
      now,
    );
    await system.execMain(
      `INSERT INTO scim_user (user_id, org_id, user_name, user_name_key, active, created_at, updated_at)
       VALUES (?, ?, ?, ?, 1, ?, ?)`,
      userId,
      orgId,
      `${userId}@example.com`,
      `${userId}@example.com`,
      now,
      now,
    );

    const answer = await system.fetch(`${ENDPOINT.scim}/Users/${userId}`, {
      method: "PATCH",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/scim+json" },
      body: JSON.stringify({
        schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        Operations: [{ op: "replace", path: "active", value: false }],
      }),
    });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ id: userId, active: false });
    expect(await system.queryMain("SELECT id FROM session WHERE user_id = ?", userId)).toEqual([]);
    await expect.poll(() => receiver.deliveriesTo("/many/scim").length, { timeout: 20_000 }).toBe(sessionIds.length);
    expect(await toldSessions("/many/scim", rp.clientId, userId)).toEqual(sessionIds);
  });
});
