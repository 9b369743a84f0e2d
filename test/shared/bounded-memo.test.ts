import { describe, expect, it } from "vitest";
import { boundedMemo } from "../../shared/isolate/bounded-memo.ts";

describe("boundedMemo", () => {
  it("computes a name once while it is kept, and keeps at most max names", () => {
    const asked: string[] = [];
    const length = boundedMemo(2, (name) => (asked.push(name), name.length));
    expect([length("a"), length("bb"), length("a"), length("bb")]).toEqual([1, 2, 1, 2]);
    expect(asked).toEqual(["a", "bb"]);
    // Past the bound: the same answer, computed afresh every time.
    expect([length("ccc"), length("ccc")]).toEqual([3, 3]);
    expect(asked).toEqual(["a", "bb", "ccc", "ccc"]);
    expect(length("a")).toBe(1);
    expect(asked).toHaveLength(4);
  });

  it("keeps false and 0 answers too", () => {
    let calls = 0;
    const no = boundedMemo(4, () => (calls++, false));
    no("x");
    no("x");
    expect(calls).toBe(1);
  });

  it("refuses a bound that is not a non-negative integer, at construction", () => {
    expect(() => boundedMemo(-1, () => 0)).toThrow(RangeError);
    expect(() => boundedMemo(1.5, () => 0)).toThrow(RangeError);
    expect(() => boundedMemo(0, (name) => name)("a")).not.toThrow();
  });
});
