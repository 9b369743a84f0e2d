import { describe, expect, it } from "vitest";
import { RevocationTable } from "../../workers/gateway/src/trust/revocation-table.ts";

const NOW = 1_900_000_000;

/**
 * The gateway's compact revocation table (workers/gateway/src/trust/revocation-table.ts):
 * what each kind matches is covered through the view by revocation-kinds.test.ts; this
 * covers the table's own bookkeeping — growth, repeated values, expiry.
 */
describe("RevocationTable", () => {
  it("keeps every entry across growth, and a value of one kind never matches another kind", () => {
    const table = new RevocationTable();
    for (let i = 0; i < 5_000; i++) table.add("jti", `jti-${i}`, null, NOW + 60);
    expect(table.size).toBe(5_000);
    for (let i = 0; i < 5_000; i += 97) expect(table.matches("jti", `jti-${i}`, NOW, NOW)).toBe(true);
    expect(table.matches("jti", "jti-5000", NOW, NOW)).toBe(false);
    expect(table.matches("session", "jti-1", NOW, NOW)).toBe(false);
    expect(table.has("session")).toBe(false);
  });

  it("a repeated value moves its cut-off and its expiry forward, never back", () => {
    const table = new RevocationTable();
    table.add("subject", "user-1", NOW - 100, NOW + 60);
    table.add("subject", "user-1", NOW - 200, NOW + 10);
    expect(table.size).toBe(1);
    expect(table.matches("subject", "user-1", NOW - 100, NOW + 30)).toBe(true);
    expect(table.matches("subject", "user-1", NOW - 99, NOW)).toBe(false);
    table.add("subject", "user-1", NOW, NOW + 60);
    expect(table.matches("subject", "user-1", NOW - 99, NOW)).toBe(true);
  });

  it("an expired entry stops matching at once and is dropped by dropExpired; the others stay", () => {
    const table = new RevocationTable();
    table.add("grant", "dg-old", null, NOW + 10);
    for (let i = 0; i < 100; i++) table.add("grant", `dg-${i}`, null, NOW + 60);
    expect(table.matches("grant", "dg-old", NOW, NOW + 10)).toBe(false);
    table.dropExpired(NOW + 10);
    expect(table.size).toBe(100);
    expect(table.matches("grant", "dg-old", NOW, NOW)).toBe(false);
    for (let i = 0; i < 100; i++) expect(table.matches("grant", `dg-${i}`, NOW, NOW + 59)).toBe(true);
    table.dropExpired(NOW + 60);
    expect(table.size).toBe(0);
    expect(table.has("grant")).toBe(false);
  });

  it("dropUpTo forgets entries at or before a second and keeps later ones; a shared slot goes only with its latest second", () => {
    // A client's RFC 7009 table (revocation-index.ts): the second is the token's iat.
    const table = new RevocationTable();
    for (let i = 0; i < 50; i++) table.add("jti", `old-${i}`, NOW - 10, NOW + 60);
    table.add("jti", "later", NOW + 1, NOW + 60);
    // One value seen at two seconds holds the later, as two values sharing a key would.
    table.add("jti", "twice", NOW - 10, NOW + 60);
    table.add("jti", "twice", NOW + 1, NOW + 60);
    expect(table.holds("jti", "old-0", NOW)).toBe(true);
    table.dropUpTo(NOW, NOW);
    expect(table.size).toBe(2);
    expect([
      table.holds("jti", "old-0", NOW),
      table.holds("jti", "later", NOW),
      table.holds("jti", "twice", NOW),
    ]).toEqual([false, true, true]);
    table.dropUpTo(NOW + 1, NOW);
    expect(table.size).toBe(0);
  });
});
