// A client assertion spent by a token request that then issued nothing
// through no fault of the client's (a 429 at its mint limit, our 503) could
// not be resent: its `jti` stayed spent. The ReplayGuard now lets the call
// that set a marker, and only that call, give it back (`release` with the
// holder it passed to `consume`); these tests hold it to that under races.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { replayGuardName } from "../../shared/contracts/replay.ts";
import { ReplayGuard } from "../../workers/org-state/src/replay-guard.ts";

function freshGuard() {
  return env.REPLAY_GUARD.getByName(replayGuardName(`test:${crypto.randomUUID()}`));
}

const exp = () => Math.floor(Date.now() / 1000) + 300;

describe("ReplayGuard: a marker given back only by the call that set it", () => {
  it("its holder's release frees it for one more consume; a second release by that holder frees nothing", async () => {
    const guard = freshGuard();
    const holder = crypto.randomUUID();
    expect(await guard.consume("jti", exp(), holder)).toBe(true);
    expect(await guard.consume("jti", exp(), crypto.randomUUID())).toBe(false);
    expect(await guard.release("jti", holder)).toBe(true);
    const next = crypto.randomUUID();
    expect(await guard.consume("jti", exp(), next)).toBe(true);
    // Late or repeated: the marker is the next holder's now.
    expect(await guard.release("jti", holder)).toBe(false);
    expect(await guard.consume("jti", exp())).toBe(false);
  });

  it("another holder cannot release it, and a marker set without a holder can never be released", async () => {
    const guard = freshGuard();
    expect(await guard.consume("held", exp(), crypto.randomUUID())).toBe(true);
    expect(await guard.release("held", crypto.randomUUID())).toBe(false);
    expect(await guard.consume("held", exp())).toBe(false);
    expect(await guard.consume("unheld", exp())).toBe(true);
    expect(await guard.release("unheld", crypto.randomUUID())).toBe(false);
    expect(await guard.consume("unheld", exp())).toBe(false);
  });

  it("refuses a holder that is not a random UUID (one another caller could make up)", async () => {
    const guard = freshGuard();
    // Inside the object: a rejected RPC surfaces in the runner as an unhandled rejection as well.
    await runInDurableObject(guard, async (instance: ReplayGuard) => {
      await expect(instance.consume("jti", exp(), "guess")).rejects.toThrow("holder must be a random UUID");
      await expect(instance.release("jti", "")).rejects.toThrow("holder must be a random UUID");
    });
    expect(await guard.consume("jti", exp())).toBe(true);
  });

  it("500 concurrent consumes, each losers' release in the same race: one winner, and only it frees the marker", async () => {
    const guard = freshGuard();
    const attempts = await Promise.all(
      Array.from({ length: 500 }, async () => {
        const holder = crypto.randomUUID();
        const won = await guard.consume("jti", exp(), holder);
        // A loser that (wrongly) released would free the winner's marker.
        const released = won ? false : await guard.release("jti", holder);
        return { holder, won, released };
      }),
    );
    const winners = attempts.filter((a) => a.won);
    expect(winners).toHaveLength(1);
    expect(attempts.some((a) => a.released)).toBe(false);
    expect(await guard.consume("jti", exp(), crypto.randomUUID())).toBe(false);
    expect(await guard.release("jti", (winners[0] as { holder: string }).holder)).toBe(true);
  });

  it("an object whose table predates holders gains the column and keeps its markers", async () => {
    const guard = freshGuard();
    await runInDurableObject(guard, async (_instance, state) => {
      state.storage.sql.exec("DROP TABLE used");
      state.storage.sql.exec("CREATE TABLE used (value TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)");
      state.storage.sql.exec("INSERT INTO used (value, expires_at) VALUES ('old', ?)", exp());
      const upgraded = new ReplayGuard(state, env);
      expect(await upgraded.consume("old", exp(), crypto.randomUUID())).toBe(false);
      const holder = crypto.randomUUID();
      expect(await upgraded.consume("new", exp(), holder)).toBe(true);
      expect(await upgraded.release("new", holder)).toBe(true);
    });
  });
});
