import { MAX_TURN_LEASE_MS, MAX_TURN_WAITERS } from "../../../shared/contracts/replay.ts";

/** One value's line: how many hold or wait for it, and the promise the last of them resolves when done. */
interface Line {
  length: number;
  last: Promise<void>;
}

/**
 * Turns on a value, one holder at a time, in arrival order
 * (shared/contracts/replay.ts `takeTurn`). A Durable Object is one instance
 * with one thread, so a map in its memory is a queue no concurrent caller
 * can jump; nothing is stored, because a turn only has to order requests
 * that overlap in time. If the object is evicted its turns end with it, and
 * every request still in flight fails with the object's call.
 */
export class Turns {
  private readonly lines = new Map<string, Line>();
  /** The end of each turn being held, by value and holder. */
  private readonly ends = new Map<string, () => void>();

  async take(value: string, holder: string, leaseMs: number): Promise<boolean> {
    const lease = Math.min(Math.max(Number.isFinite(leaseMs) ? Math.floor(leaseMs) : 0, 1), MAX_TURN_LEASE_MS);
    const line = this.lines.get(value) ?? { length: 0, last: Promise.resolve() };
    if (line.length >= MAX_TURN_WAITERS) return false;
    let end = () => {};
    const done = new Promise<void>((resolve) => {
      end = resolve;
    });
    const before = line.last;
    line.last = done;
    line.length += 1;
    this.lines.set(value, line);
    const key = turnKey(value, holder);
    void done.then(() => {
      this.ends.delete(key);
      line.length -= 1;
      if (line.length === 0) this.lines.delete(value);
    });
    await before;
    // The lease starts with the turn, not with the wait for it.
    const lapse = setTimeout(end, lease);
    this.ends.set(key, () => {
      clearTimeout(lapse);
      end();
    });
    return true;
  }

  end(value: string, holder: string): void {
    this.ends.get(turnKey(value, holder))?.();
  }
}

function turnKey(value: string, holder: string): string {
  return `${holder}\n${value}`;
}
