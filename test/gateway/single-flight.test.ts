// shared/isolate/single-flight.ts: one load for concurrent callers, whose
// waiters take the result as data (never the loader's promise), see its
// error, and take over from a loader that never finishes.
import { describe, expect, it } from "vitest";
import { SingleFlight } from "../../shared/isolate/single-flight.ts";

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("SingleFlight", () => {
  it("runs one load for every caller of a key while it runs, and a new one after", async () => {
    const flights = new SingleFlight<number>();
    const gate = deferred<number>();
    let loads = 0;
    const load = () => {
      loads++;
      return gate.promise;
    };
    const callers = Array.from({ length: 10 }, () => flights.run("k", load));
    expect(flights.size).toBe(1);
    gate.resolve(7);
    expect(await Promise.all(callers)).toEqual(Array(10).fill(7));
    expect(loads).toBe(1);
    expect(flights.size).toBe(0);
    expect(await flights.run("k", async () => 8)).toBe(8);
  });

  it("keeps keys apart", async () => {
    const flights = new SingleFlight<string>();
    const [a, b] = await Promise.all([flights.run("a", async () => "A"), flights.run("b", async () => "B")]);
    expect([a, b]).toEqual(["A", "B"]);
  });

  it("hands the load's error to every waiter, and the next caller loads again", async () => {
    const flights = new SingleFlight<number>();
    const gate = deferred<number>();
    const callers = Array.from({ length: 3 }, () => flights.run("k", () => gate.promise));
    const failure = new Error("source down");
    gate.reject(failure);
    for (const caller of callers) await expect(caller).rejects.toBe(failure);
    expect(await flights.run("k", async () => 1)).toBe(1);
  });

  it("a waiter whose loader never finishes loads on its own after maxWaitMs", async () => {
    const flights = new SingleFlight<string>({ maxWaitMs: 30 });
    void flights.run("k", () => new Promise<string>(() => undefined));
    expect(await flights.run("k", async () => "own")).toBe("own");
  });

  it("refuses a wait bound that is not positive", () => {
    expect(() => new SingleFlight({ maxWaitMs: 0 })).toThrow(RangeError);
  });
});
