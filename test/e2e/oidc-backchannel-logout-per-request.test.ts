// OIDC Back-Channel Logout 1.0 when one request ends many sessions at once
// (`/revoke-sessions`): Better Auth runs the session `delete.after` hook once
// per session, and the request's outbox (workers/authn/src/oidc/logout-outbox.ts)
// gathers every session of the request into ONE send (shared/oidc/backchannel-logout.ts),
// so its guarantees hold for the request, not per session: a client whose
// receiver stalls gets one attempt in all, and its stalled connections do not
// crowd out the answering client's deliveries. The sessions besides the
// sign-up's and the issuer's records of the clients are written straight to
// D1, as the issuer writes them.
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
import type { OperatorCli } from "../support/operator-cli.ts";
import type { RunningSystem } from "../support/system.ts";

let system: RunningSystem;
let operator: OperatorCli;
let receiver: LogoutReceiver;

backchannelSystem("backchannel-per-request", (setup) => {
  ({ system, operator, receiver } = setup);
});

describe("back-channel logout of a request that ends many sessions", () => {
  it("revoke-sessions: the answering client hears of every session, the stalling one is tried once in all", async () => {
    const stalling = await stallingReceiver();
    try {
      const stalled = await registeredRp(system, operator, "per-request stalling", stalling.uri("/stalls"));
      const answering = await registeredRp(system, operator, "per-request answering", receiver.uri("/per-request"));
      // Every session, the sign-up's too, signed in to both clients.
      const { browser, userId, sessionIds } = await personWithSessions(system, 3, [
        stalled.clientId,
        answering.clientId,
      ]);

      const revoke = await browser.postJson(`${ENDPOINT.authApi}/revoke-sessions`);
      expect(revoke.status).toBe(200);
      expect(await revoke.json()).toEqual({ status: true });
      expect(await system.queryMain("SELECT id FROM session WHERE user_id = ?", userId)).toEqual([]);

      // One Logout Token per ended session, each naming it (§2.4: `sid`, `sub`), none twice.
      await expect.poll(() => receiver.deliveriesTo("/per-request").length, { timeout: 25_000 }).toBe(4);
      const told = receiver.deliveriesTo("/per-request");
      const claims = await Promise.all(
        told.map((delivery) => verifiedLogoutToken(system, delivery.logoutToken, answering.clientId)),
      );
      expect(claims.map((claim) => claim.sub)).toEqual([userId, userId, userId, userId]);
      expect(claims.map((claim) => claim.sid).sort()).toEqual(sessionIds);
      expect(told.map((delivery) => decodeJwt(delivery.logoutToken).aud)).toEqual(Array(4).fill(answering.clientId));

      // The stalling client: its first delivery only (a client holds one place until its receiver answers) ...
      await expect.poll(() => [...stalling.arrivals], { timeout: 25_000 }).toEqual(["/stalls"]);
      // ... and once that one timed out (4 s) the client is down for the rest of the request's send: its
      // other three sessions are skipped, not sent (one send per request, so one down set).
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      expect([...stalling.arrivals]).toEqual(["/stalls"]);
      expect(receiver.deliveriesTo("/per-request")).toHaveLength(4);
    } finally {
      stalling.close();
    }
  });
});
