import { describe, expect, it } from "vitest";
import { timeOrderedId } from "../../../shared/ids/time-ordered-id.ts";

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("timeOrderedId (RFC 9562 §5.7, UUID version 7)", () => {
  it("is a version 7, variant 10 UUID whose first 48 bits are the Unix time in ms", () => {
    const id = timeOrderedId(0x0123_4567_89ab);
    expect(id).toMatch(V7);
    expect(id.slice(0, 8) + id.slice(9, 13)).toBe("0123456789ab");
    // The RFC's own example time (Appendix A.6): Tuesday, February 22, 2022 2:22:22.00 PM GMT-05:00.
    expect(timeOrderedId(1645557742000).slice(0, 13)).toBe("017f22e2-79b0");
  });

  it("sorts as text in the order it was made across milliseconds, and never repeats", () => {
    const t = Date.now();
    const ids = Array.from({ length: 1000 }, (_, i) => timeOrderedId(t + i));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(1000);
    const sameMs = Array.from({ length: 1000 }, () => timeOrderedId(t));
    expect(new Set(sameMs).size).toBe(1000);
    for (const id of sameMs) expect(id).toMatch(V7);
  });
});
