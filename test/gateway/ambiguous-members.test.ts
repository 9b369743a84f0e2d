import { describe, expect, it } from "vitest";
import { hasAmbiguousMemberNames } from "../../workers/gateway/src/mcp/ambiguous-members.ts";

describe("hasAmbiguousMemberNames", () => {
  it("finds a name twice or in two cases, in any object at any depth, escapes decoded and Unicode folded", () => {
    for (const text of [
      '{"a":1,"a":2}',
      '{"name":"x","Name":"y"}',
      '{"NAME":"x","name":"y"}',
      '{"name":"x","n\\u0061me":"y"}',
      '{"na\\"me":1,"NA\\"ME":2}',
      '{"params":{},"paramſ":{}}',
      '{"k":1,"\u212a":2}',
      '{"a":1,"b":2,"c":3,"B":4}',
      '[1,{"x":[{"y":{"z":1,"Z":2}}]}]',
      '{"a":{"b":1},"c":[{"d":1}],"e":{"f":1,"f":1}}',
    ]) {
      expect(() => JSON.parse(text), text).not.toThrow();
      expect(hasAmbiguousMemberNames(text), text).toBe(true);
    }
  });

  it("passes distinct names, the same name in sibling or nested objects, and names inside string values", () => {
    for (const text of [
      "{}",
      "[]",
      '"a"',
      '{"a":1,"b":2}',
      '{"a":{"a":{"a":1}}}',
      '[{"a":1},{"a":2},{"A":3}]',
      '{"a":"a","b":["a","A"],"c":{"x":1},"d":{"x":1}}',
      '{"a":"{\\"b\\":1,\\"b\\":2}"}',
      '{"a":{},"b":[],"c":[{}],"d":{"e":[]}}',
      '{"name":"x","names":"y","\\u006eame2":1}',
    ]) {
      expect(hasAmbiguousMemberNames(text), text).toBe(false);
    }
  });

  it("scans deep nesting without recursion", () => {
    const depth = 100_000;
    const deep = `${'{"a":'.repeat(depth)}{"b":1,"B":2}${"}".repeat(depth)}`;
    expect(hasAmbiguousMemberNames(deep)).toBe(true);
    expect(hasAmbiguousMemberNames(`${"[".repeat(depth)}${"]".repeat(depth)}`)).toBe(false);
  });
});
