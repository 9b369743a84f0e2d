// The browser provider's codes and refresh tokens are used in turns
// (workers/token/src/oidc/grant-turns.ts): a second request for the same
// grant starts only after the first has finished, so a replay always sees
// what the first use wrote. These tests hold the ReplayGuard's turns to
// that: one holder at a time, in arrival order, a lease for a holder that
// never comes back, and a bounded line.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_TURN_WAITERS, replayGuardName } from "../../shared/contracts/replay.ts";

function freshGuard() {
  return env.REPLAY_GUARD.getByName(replayGuardName(`test:${crypto.randomUUID()}`));
}

const LONG_LEASE_MS = 60_000;

/** The message an object's call was refused with (caught here, so no rejection goes unhandled). */
async function refusal(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  return "no refusal";
}

describe("ReplayGuard turns: one holder of a value at a time", () => {
  it("a second taker waits until the first ends its turn, then gets it", async () => {
    const guard = freshGuard();
    const first = crypto.randomUUID();
    const second = crypto.randomUUID();
    expect(await guard.takeTurn("grant", first, LONG_LEASE_MS)).toBe(true);
    const events: string[] = [];
    const waiting = guard.takeTurn("grant", second, LONG_LEASE_MS).then((taken) => {
      events.push("second has it");
      return taken;
    });
    // Calls on one stub arrive in order: once this answers, the second taker is in line.
    await guard.consume("barrier", Math.floor(Date.now() / 1000) + 60);
    events.push("first ends");
    await guard.endTurn("grant", first);
    expect(await waiting).toBe(true);
    expect(events).toEqual(["first ends", "second has it"]);
    await guard.endTurn("grant", second);
  });

  it("other values are not held up by one value's turn", async () => {
    const guard = freshGuard();
    const holder = crypto.randomUUID();
    expect(await guard.takeTurn("one", holder, LONG_LEASE_MS)).toBe(true);
    expect(await guard.takeTurn("other", crypto.randomUUID(), LONG_LEASE_MS)).toBe(true);
    await guard.endTurn("one", holder);
  });

  it("a holder that never ends its turn loses it when its lease runs out", async () => {
    const guard = freshGuard();
    expect(await guard.takeTurn("grant", crypto.randomUUID(), 1)).toBe(true);
    expect(await guard.takeTurn("grant", crypto.randomUUID(), LONG_LEASE_MS)).toBe(true);
  });

  it("ending someone else's turn, or a turn not held, changes nothing", async () => {
    const guard = freshGuard();
    const holder = crypto.randomUUID();
    expect(await guard.takeTurn("grant", holder, LONG_LEASE_MS)).toBe(true);
    await guard.endTurn("grant", crypto.randomUUID());
    const next = crypto.randomUUID();
    let started = false;
    const waiting = guard.takeTurn("grant", next, LONG_LEASE_MS).then((taken) => {
      started = true;
      return taken;
    });
    await guard.consume("barrier", Math.floor(Date.now() / 1000) + 60);
    await guard.endTurn("grant", crypto.randomUUID());
    await guard.consume("barrier-2", Math.floor(Date.now() / 1000) + 60);
    expect(started).toBe(false);
    await guard.endTurn("grant", holder);
    expect(await waiting).toBe(true);
  });

  it(`refuses at once a taker beyond ${MAX_TURN_WAITERS} in line`, async () => {
    const guard = freshGuard();
    const holders = Array.from({ length: MAX_TURN_WAITERS }, () => crypto.randomUUID());
    const [head, ...rest] = holders;
    expect(await guard.takeTurn("grant", head ?? "", LONG_LEASE_MS)).toBe(true);
    const line = rest.map((holder) => guard.takeTurn("grant", holder, LONG_LEASE_MS));
    await guard.consume("barrier", Math.floor(Date.now() / 1000) + 60);
    expect(await guard.takeTurn("grant", crypto.randomUUID(), LONG_LEASE_MS)).toBe(false);
    // The line moves on as each ends its turn.
    await guard.endTurn("grant", head ?? "");
    for (const [index, holder] of rest.entries()) {
      expect(await line[index]).toBe(true);
      await guard.endTurn("grant", holder);
    }
    expect(await guard.takeTurn("grant", crypto.randomUUID(), LONG_LEASE_MS)).toBe(true);
  });

  it("refuses a holder that is not a random UUID and an empty value", async () => {
    const guard = freshGuard();
    expect(await refusal(guard.takeTurn("grant", "guessable", LONG_LEASE_MS))).toBe("holder must be a random UUID");
    expect(await refusal(guard.takeTurn("", crypto.randomUUID(), LONG_LEASE_MS))).toBe(
      "marker must be 1..512 characters",
    );
  });
});

describe("ReplayGuard.consume: a bad expiry is a clear refusal", () => {
  it("NaN and non-numbers throw a RangeError naming expiresAt", async () => {
    const guard = freshGuard();
    expect(await refusal(guard.consume("jti", Number.NaN))).toBe("expiresAt must be a number");
    expect(await refusal(guard.consume("jti", Number.POSITIVE_INFINITY))).toBe("expiresAt must be a number");
    expect(await guard.consume("jti", Math.floor(Date.now() / 1000) + 60)).toBe(true);
  });
});
