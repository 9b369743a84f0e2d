// The request's back-channel logout outbox (workers/authn/src/oidc/logout-outbox.ts)
// as the session hooks drive it, in orders a request's concurrent delete calls
// can take but no end-to-end test can force: a call still running when the
// request has answered, a call that fails, an `after` that comes only after
// the send. What it sends is seen through the send's own signer:
// sendLogoutTokens asks it for each Logout Token it would POST; this one
// records the `sid` and refuses, so nothing is POSTed. The end-to-end proofs
// over HTTP are test/e2e/oidc-backchannel-logout-revoke-other.test.ts and
// -per-request.test.ts.
import { describe, expect, it } from "vitest";
import { LogoutOutbox } from "../../workers/authn/src/oidc/logout-outbox.ts";
import type { LogoutSender, SessionLogout } from "../../shared/oidc/backchannel-logout.ts";

function recordingSender(): { sender: LogoutSender; signed: string[] } {
  const signed: string[] = [];
  const sender: LogoutSender = {
    issuer: "https://issuer.example.test",
    worker: "authn",
    sign: async (claims) => {
      signed.push(String(claims.sid));
      throw new Error("recorded, not signed");
    },
  };
  return { sender, signed };
}

function plan(sessionId: string): SessionLogout {
  return { sessionId, subject: "person", targets: [{ clientId: "rp", uri: "https://rp.example.test/backchannel" }] };
}

/** A promise and what settles it. */
function deferred(): { promise: Promise<void>; release: () => void } {
  let release = () => {};
  const promise = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { promise, release };
}

describe("the request's back-channel logout outbox", () => {
  it("sends once every session-ending call has settled, a failed one too: each deleted session once, the failed one not", async () => {
    const { sender, signed } = recordingSender();
    const outbox = new LogoutOutbox();
    for (const id of ["a", "b", "c"]) expect(outbox.plan(plan(id), sender)).toBe(true);
    const stillDeleting = deferred();
    // Three delete calls at once, as /revoke-other-sessions makes them: `a` deleted, `b` refused by the
    // database (no `after`), `c` still under way when the request answers.
    const deleted = outbox.track(async () => {
      expect(outbox.confirm("a")).toBe("queued");
    });
    const refused = outbox.track(async () => {
      throw new Error("refused by the test");
    });
    const late = outbox.track(async () => {
      await stillDeleting.promise;
      expect(outbox.confirm("c")).toBe("queued");
    });
    await deleted;
    await expect(refused).rejects.toThrow("refused by the test");

    const sending = outbox.close();
    expect(sending).toBeInstanceOf(Promise);
    // Nothing goes while a call is under way, however long the request has been answered.
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(signed).toEqual([]);
    stillDeleting.release();
    await late;
    await sending;
    expect(signed.sort()).toEqual(["a", "c"]);
    // A second `after` for a session already confirmed (two calls ending it) adds nothing.
    expect(outbox.confirm("a")).toBeUndefined();
  });

  it("a plan whose `after` comes after the send is handed back to be sent alone; a plan after the send is refused", async () => {
    const { sender, signed } = recordingSender();
    const outbox = new LogoutOutbox();
    expect(outbox.plan(plan("early"), sender)).toBe(true);
    await outbox.close();
    // Planned, never confirmed before the send: not sent with it.
    expect(signed).toEqual([]);
    expect(outbox.confirm("early")).toEqual(plan("early"));
    expect(outbox.confirm("early")).toBeUndefined();
    // The hook then falls back to a send of its own (oidc/backchannel-logout.ts).
    expect(outbox.plan(plan("after-the-send"), sender)).toBe(false);
    expect(outbox.confirm("after-the-send")).toBeUndefined();
  });

  it("a request that ended nothing has nothing to send or wait for", () => {
    expect(new LogoutOutbox().close()).toBeUndefined();
  });
});
