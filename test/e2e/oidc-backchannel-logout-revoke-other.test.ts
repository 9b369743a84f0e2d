// OIDC Back-Channel Logout 1.0 when Better Auth's `/revoke-other-sessions`
// ends a person's other sessions: it deletes each with a delete call of its
// own, all at once, and workers/authn/src/oidc/logout-outbox.ts still sends
// every ended session of the request in ONE sendLogoutTokens
// (shared/oidc/backchannel-logout.ts), once all those calls have settled,
// whatever order they ran in and whichever of them failed. One send shows at
// the receivers: it has one down set, so a client whose receiver stalls is
// tried once in all, where a send per session would try it once per session.
// The sessions besides the sign-up's and the issuer's records of the clients
// are written straight to D1, as the issuer writes them.
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import {
  backchannelSystem,
  type LogoutReceiver,
  personWithSessions,
  registeredRp,
  stallingReceiver,
  verifiedLogoutToken,
} from "../support/backchannel-logout.ts";
import type { CookieBrowser } from "../support/cookie-browser.ts";
import type { OperatorCli } from "../support/operator-cli.ts";
import type { RunningSystem } from "../support/system.ts";

let system: RunningSystem;
let operator: OperatorCli;
let receiver: LogoutReceiver;

backchannelSystem("backchannel-revoke-other", (setup) => {
  ({ system, operator, receiver } = setup);
});

/** The `sid` of every Logout Token POSTed to `path`, sorted, each verified as an RP must (§2.6) and naming `sub`. */
async function toldSessions(path: string, clientId: string, sub: string): Promise<string[]> {
  const claims = await Promise.all(
    receiver.deliveriesTo(path).map((delivery) => verifiedLogoutToken(system, delivery.logoutToken, clientId)),
  );
  for (const claim of claims) expect(claim.sub).toBe(sub);
  return claims.map((claim) => claim.sid as string).sort();
}

/** The session the browser holds (its sign-up's): the one `/revoke-other-sessions` keeps. */
async function currentSessionId(browser: CookieBrowser): Promise<string> {
  const answer = await browser.get(`${system.origin}${ENDPOINT.authApi}/get-session`);
  expect(answer.status).toBe(200);
  return ((await answer.json()) as { session: { id: string } }).session.id;
}

describe("back-channel logout of /revoke-other-sessions", () => {
  it("every client hears of every ended session once, in one send: the stalling client is tried once in all", async () => {
    const stalling = await stallingReceiver();
    try {
      const stalled = await registeredRp(system, operator, "revoke-other stalling", stalling.uri("/stalls"));
      const first = await registeredRp(system, operator, "revoke-other first", receiver.uri("/revoke-other/first"));
      const second = await registeredRp(system, operator, "revoke-other second", receiver.uri("/revoke-other/second"));
      // Six sessions, the sign-up's (kept) among them, each signed in to all three clients.
      const { browser, userId, sessionIds } = await personWithSessions(system, 5, [
        stalled.clientId,
        first.clientId,
        second.clientId,
      ]);
      const kept = await currentSessionId(browser);
      const ended = sessionIds.filter((id) => id !== kept);
      expect(ended).toHaveLength(5);
      // One of them active in an org: its `before` records a revocation in the org's Durable Object first, so
      // its delete call plans later than the others, typically after some of them have deleted and run their
      // `after`. One send per request must not depend on that order.
      const org = await operator.json<{ id: string }>("org", "create", "--name", `Revoke Other ${crypto.randomUUID()}`);
      await system.execMain("UPDATE session SET active_organization_id = ? WHERE id = ?", org.id, ended[2]);

      const revoke = await browser.postJson(`${ENDPOINT.authApi}/revoke-other-sessions`);
      expect(revoke.status).toBe(200);
      expect(await revoke.json()).toEqual({ status: true });
      expect(await system.queryMain("SELECT id FROM session WHERE user_id = ?", userId)).toEqual([{ id: kept }]);

      // One Logout Token per ended session at each answering client, each naming it (§2.4), none twice,
      // none for the session kept.
      for (const [path, rp] of [
        ["/revoke-other/first", first],
        ["/revoke-other/second", second],
      ] as const) {
        await expect.poll(() => receiver.deliveriesTo(path).length, { timeout: 25_000 }).toBe(5);
        expect(await toldSessions(path, rp.clientId, userId)).toEqual(ended);
        expect(receiver.deliveriesTo(path).map((delivery) => decodeJwt(delivery.logoutToken).aud)).toEqual(
          Array(5).fill(rp.clientId),
        );
      }
      // The stalling client: one delivery in all. It holds one place until its receiver answers, and once
      // that one timed out (4 s) it is down for the rest of the send: its other four sessions are skipped.
      // A send per session (or per delete call) would have tried it once in each.
      await expect.poll(() => [...stalling.arrivals], { timeout: 25_000 }).toEqual(["/stalls"]);
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      expect([...stalling.arrivals]).toEqual(["/stalls"]);
      expect(receiver.deliveriesTo("/revoke-other/first")).toHaveLength(5);
      expect(receiver.deliveriesTo("/revoke-other/second")).toHaveLength(5);
    } finally {
      stalling.close();
    }
  });

  it("a delete that fails costs the other sessions nothing: those deleted are told, the one kept is not", async () => {
    const rp = await registeredRp(system, operator, "revoke-other failing", receiver.uri("/revoke-other/failing"));
    const { browser, userId, sessionIds } = await personWithSessions(system, 4, [rp.clientId]);
    const kept = await currentSessionId(browser);
    const others = sessionIds.filter((id) => id !== kept);
    const refused = others[1] as string;
    const deleted = others.filter((id) => id !== refused);
    // The database refuses to delete this one session (only it: the trigger names its id).
    const trigger = `refuse_session_delete_${crypto.randomUUID().replaceAll("-", "_")}`;
    await system.execMain(
      `CREATE TRIGGER ${trigger} BEFORE DELETE ON session WHEN OLD.id = '${refused}'
       BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`,
    );
    try {
      const revoke = await browser.postJson(`${ENDPOINT.authApi}/revoke-other-sessions`);
      // Better Auth's answer to a failure of its own (the database's refusal): 500, nothing of the error in it.
      expect(revoke.status).toBe(500);
      expect(await revoke.text()).toBe("");
    } finally {
      await system.execMain(`DROP TRIGGER IF EXISTS ${trigger}`);
    }
    // Better Auth answered as soon as the refused delete failed, whatever the others were doing: they still
    // end, and the one refused is left.
    await expect
      .poll(
        async () =>
          await system.queryMain<{ id: string }>("SELECT id FROM session WHERE user_id = ? ORDER BY id", userId),
        {
          timeout: 10_000,
        },
      )
      .toEqual([kept, refused].sort().map((id) => ({ id })));
    // Every session deleted is told (one send, after every call of the request settled), the refused one not.
    await expect.poll(() => receiver.deliveriesTo("/revoke-other/failing").length, { timeout: 25_000 }).toBe(3);
    expect(await toldSessions("/revoke-other/failing", rp.clientId, userId)).toEqual(deleted);

    // Ending the refused session now is the barrier: it is told once, so the failed request never sent it.
    const again = await browser.postJson(`${ENDPOINT.authApi}/revoke-other-sessions`);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ status: true });
    await expect.poll(() => receiver.deliveriesTo("/revoke-other/failing").length, { timeout: 25_000 }).toBe(4);
    expect(await toldSessions("/revoke-other/failing", rp.clientId, userId)).toEqual(others);
  });
});
