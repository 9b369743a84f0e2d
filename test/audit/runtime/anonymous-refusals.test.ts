// Refusals without an authenticated principal are aggregated per isolate and
// window (shared/audit/anonymous-refusals.ts): N of them become one row with
// a count, so nobody can fill the audit database by being refused.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  ANONYMOUS_REFUSAL_WINDOW_MS,
  MAX_PENDING_KEYS,
  OTHER_TARGET,
} from "../../../shared/audit/anonymous-refusals.ts";
import { recordAuditInBackground } from "../../../shared/audit/record-audit.ts";
import type { AnonymousRefusal as AggregateDetail } from "../../support/runtime/anonymous-refusal-rows.ts";
import { arrivedRows } from "./audit-rows.ts";

describe("anonymous refusals", () => {
  it("N refusals in a window become one event with count N, held by the first caller's waitUntil", async () => {
    const grant = `urn:test:${crypto.randomUUID()}`;
    const before = Date.now();
    await Promise.all(
      Array.from({ length: 7 }, () =>
        recordAuditInBackground(env, {
          kind: "token.refused",
          outcome: "refused",
          detail: { grant_type: grant, error: "unsupported_grant_type", status: 400 },
        }),
      ),
    );
    const rows = await arrivedRows(
      "SELECT * FROM audit_event WHERE kind = 'token.refused' AND json_extract(detail, '$.grant_type') = ?",
      grant,
    );
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect(row).toMatchObject({ outcome: "refused", org_id: null, subject: null, actor: null, client_id: null });
    const detail = JSON.parse(row?.detail ?? "null") as AggregateDetail;
    expect(Object.keys(detail).sort()).toEqual(["count", "error", "first_at", "grant_type", "last_at"]);
    expect(detail).toMatchObject({ grant_type: grant, error: "unsupported_grant_type", count: 7 });
    expect(detail.first_at).toBeGreaterThanOrEqual(before);
    expect(detail.last_at).toBeGreaterThanOrEqual(detail.first_at);
    expect(row?.occurred_at).toBe(detail.first_at);
    expect(ANONYMOUS_REFUSAL_WINDOW_MS).toBe(1_000);
  });

  it("refusals at the token endpoint: one row per key and window, the attacker-sized grant type capped", async () => {
    const grant = `urn:${crypto.randomUUID()}:${"g".repeat(2_000)}`;
    // Fired at once, so they normally fall in one window. The window is a timer: a machine that stalled a
    // whole window between two of them closed it, and the later ones opened the next, a row of their own.
    const responses = await Promise.all(
      Array.from({ length: 5 }, () =>
        exports.default.fetch(
          new Request("http://localhost/oauth2/token", {
            method: "POST",
            headers: { "Content-Type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams({ grant_type: grant }),
          }),
        ),
      ),
    );
    for (const response of responses) {
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toBe("unsupported_grant_type");
    }
    const capped = `${grant.slice(0, 128)}…[truncated]`;
    const read = async () =>
      (
        await env.AUDIT_DB.prepare(
          "SELECT detail FROM audit_event WHERE kind = 'token.refused' AND json_extract(detail, '$.grant_type') = ? ORDER BY occurred_at",
        )
          .bind(capped)
          .all<{ detail: string }>()
      ).results.map((r) => JSON.parse(r.detail) as AggregateDetail);
    await expect.poll(async () => (await read()).reduce((sum, d) => sum + d.count, 0)).toBe(5);
    const windows = await read();
    for (const detail of windows) {
      expect(Object.keys(detail).sort()).toEqual(["count", "error", "first_at", "grant_type", "last_at"]);
      expect(detail).toMatchObject({ grant_type: capped, error: "unsupported_grant_type" });
    }
    // A second row only for a refusal after its key's window had closed: one row per key and window.
    for (const [i, detail] of windows.entries()) {
      const previous = windows[i - 1];
      if (previous) expect(detail.first_at - previous.first_at).toBeGreaterThanOrEqual(ANONYMOUS_REFUSAL_WINDOW_MS);
    }
  });

  it("past MAX_PENDING_KEYS distinct paths in a window, the rest share one row", async () => {
    // A code of its own, so that only this test's refusals share these keys.
    const error = `test_${crypto.randomUUID()}`;
    const total = MAX_PENDING_KEYS + 8;
    await Promise.all(
      Array.from({ length: total }, (_, i) =>
        recordAuditInBackground(env, {
          kind: "gateway.decision",
          outcome: "deny",
          detail: { method: "GET", path: `/api/documents/${i}`, error },
        }),
      ),
    );
    const read = async () =>
      (
        await env.AUDIT_DB.prepare(
          "SELECT detail FROM audit_event WHERE kind = 'gateway.decision' AND json_extract(detail, '$.error') = ?",
        )
          .bind(error)
          .all<{ detail: string }>()
      ).results.map((r) => JSON.parse(r.detail) as AggregateDetail);
    await expect.poll(async () => (await read()).reduce((sum, d) => sum + d.count, 0)).toBe(total);
    const details = await read();
    const other = details.filter((d) => d.path === OTHER_TARGET);
    expect(other).toHaveLength(1);
    // Every admitted path has a row of its own with count 1; the rest were folded.
    const own = details.filter((d) => d.path !== OTHER_TARGET);
    expect(own.every((d) => d.count === 1)).toBe(true);
    expect(own.length).toBeLessThanOrEqual(MAX_PENDING_KEYS);
    expect(other[0]?.count).toBe(total - own.length);
  });

  it("a Worker's ANONYMOUS_REFUSAL_WINDOW_MS may shorten the window, never lengthen it", async () => {
    /** How long the first refusal of a key of its own is held (its window, then its batch's send), and its row. */
    async function held(windowVar: string | undefined, refusals = 1) {
      const grant = `urn:test:${crypto.randomUUID()}`;
      const sink = windowVar === undefined ? env : { ...env, ANONYMOUS_REFUSAL_WINDOW_MS: windowVar };
      const started = Date.now();
      await Promise.all(
        Array.from({ length: refusals }, () =>
          recordAuditInBackground(sink, {
            kind: "token.refused",
            outcome: "refused",
            detail: { grant_type: grant, error: "unsupported_grant_type" },
          }),
        ),
      );
      const ms = Date.now() - started;
      const rows = await arrivedRows(
        "SELECT detail FROM audit_event WHERE kind = 'token.refused' AND json_extract(detail, '$.grant_type') = ?",
        grant,
      );
      return { ms, details: rows.map((r) => JSON.parse(r.detail) as AggregateDetail) };
    }
    // Shorter: refusals made together still fold into one row.
    const short = await held("0", 4);
    expect(short.ms).toBeLessThan(ANONYMOUS_REFUSAL_WINDOW_MS);
    expect(short.details).toHaveLength(1);
    expect(short.details[0]?.count).toBe(4);
    // Longer, or not a whole number of ms: the default (held in parallel, one window's wait for all).
    const others = await Promise.all(["5000", "-1", "", "0.5", "1e3x"].map((value) => held(value)));
    for (const other of others) {
      expect(other.ms).toBeGreaterThanOrEqual(ANONYMOUS_REFUSAL_WINDOW_MS);
      expect(other.ms).toBeLessThan(5_000);
    }
  });

  it("an authenticated refusal is never aggregated", async () => {
    const subject = `user-${crypto.randomUUID()}`;
    await Promise.all(
      Array.from({ length: 3 }, () =>
        recordAuditInBackground(env, {
          kind: "gateway.decision",
          outcome: "deny",
          orgId: "org-1",
          subject,
          detail: { path: "/api/documents", error: "ERR_TOKEN_REVOKED" },
        }),
      ),
    );
    await expect
      .poll(
        async () =>
          (
            await env.AUDIT_DB.prepare("SELECT count(*) AS n FROM audit_event WHERE subject = ?")
              .bind(subject)
              .first<{ n: number }>()
          )?.n,
      )
      .toBe(3);
    const rows = await arrivedRows("SELECT detail FROM audit_event WHERE subject = ?", subject);
    expect(rows.map((r) => JSON.parse(r.detail))).toEqual([
      { path: "/api/documents", error: "ERR_TOKEN_REVOKED" },
      { path: "/api/documents", error: "ERR_TOKEN_REVOKED" },
      { path: "/api/documents", error: "ERR_TOKEN_REVOKED" },
    ]);
  });
});
