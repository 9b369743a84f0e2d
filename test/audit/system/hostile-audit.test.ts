// Hostile requests against the whole system (the `npm start` configs on one
// origin): attacker-sized fields land capped in the audit database, and a
// run of anonymous refusals lands as one aggregated row.
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserLikeClient } from "../../support/browser-like-client.ts";
import { type RunningSystem, startSystem } from "../../support/system.ts";

let system: RunningSystem;

beforeAll(async () => {
  system = await startSystem();
});
afterAll(() => system?.close());

async function detailsAt(path: string): Promise<Record<string, unknown>[]> {
  const read = async () =>
    (
      await system.query<{ detail: string }>(
        "SELECT detail FROM audit_event WHERE kind = 'gateway.decision' AND json_extract(detail, '$.path') = ?",
        path,
      )
    ).map((r) => JSON.parse(r.detail) as Record<string, unknown>);
  await expect.poll(async () => (await read()).length).toBeGreaterThan(0);
  return read();
}

describe("audit under hostile requests", () => {
  it("the main database holds no audit_event table; the audit database does", async () => {
    const table = "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'audit_event'";
    expect(await system.queryMain(table)).toEqual([]);
    expect(await system.query(table)).toEqual([{ name: "audit_event" }]);
  });

  it("tokenless requests with an attacker-sized path: one row, with the count and the path capped", async () => {
    const path = `/api/documents/${crypto.randomUUID()}/${"a".repeat(4_000)}`;
    for (let i = 0; i < 6; i++) {
      const response = await system.fetch(path);
      expect(response.status).toBe(401);
      expect(response.headers.get("WWW-Authenticate")).toBe('Bearer realm="mono-auth"');
    }
    const capped = `${path.slice(0, 128)}…[truncated]`;
    await expect.poll(async () => (await detailsAt(capped))[0]?.count).toBe(6);
    const details = await detailsAt(capped);
    expect(details).toHaveLength(1);
    expect(details[0]).toMatchObject({ error: "no_token", path: capped, count: 6 });
    expect(Object.keys(details[0] ?? {}).sort()).toEqual(["count", "error", "first_at", "last_at", "path"]);
  });

  it("an authenticated request with an attacker-sized path: its own row, the path capped", async () => {
    const mallory = new BrowserLikeClient(system);
    await mallory.signUp(`mallory-${crypto.randomUUID()}@example.com`);
    const exchange = await mallory.exchangeSessionForToken();
    expect(exchange.status).toBe(200);
    const { access_token: token } = (await exchange.json()) as { access_token: string };
    const path = `/api/documents/${crypto.randomUUID()}/${"b".repeat(4_000)}`;
    await system.fetch(path, { headers: { Authorization: `Bearer ${token}` } });
    const capped = `${path.slice(0, 256)}…[truncated]`;
    const details = await detailsAt(capped);
    expect(details).toHaveLength(1);
    expect(details[0]).toMatchObject({ path: capped, jti: decodeJwt(token).jti });
    expect(details[0]).not.toHaveProperty("count");
  });
});
