// A lone UTF-16 surrogate in an audit field (a subject an external issuer or
// an operator chose) must not break its org's hash chain: SQLite stores it
// as U+FFFD while JSON.stringify hashed its escape, so the consumer makes
// every string well-formed before hashing (shared/audit/caps.ts).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { capNullable, capString, serialiseCappedDetail } from "../../../shared/audit/caps.ts";
import { AUDIT_QUEUE_NAME } from "../../../shared/audit/queues.ts";
import { auditHeadKey } from "../../../workers/token/src/audit/head-key.ts";
import { CHAIN_START, verifyChain } from "../../../workers/token/src/audit/verify-chain.ts";
import { auditRecord, chainRows, deliver } from "./deliveries.ts";

const headKey = () => auditHeadKey(env.KEY_ENCRYPTION_SECRET);

/**
 * A value as JSON.stringify writes it, lone surrogates escaped: compared in
 * this form, a failure's message is well-formed too (the runner's WebSocket
 * refuses one that is not).
 */
const shown = (value: unknown): string => JSON.stringify(value);

describe("audit: lone surrogates", () => {
  it("a record with lone surrogates in its fields and detail is stored well-formed and its chain verifies", async () => {
    const orgId = `org-${crypto.randomUUID()}`;
    const t = Date.now();
    const records = [
      // As a producer that skipped the caps would queue it: a raw lone surrogate in the detail's text,
      // and an escaped one (what JSON.stringify writes) in another value.
      auditRecord(orgId, {
        occurredAt: t,
        subject: "a\udc00b",
        actor: "\ud800",
        clientId: "c\ud800",
        detail: `{"note":"x\ud800","list":["ok","y\\udbff"]}`,
      }),
      // A well-formed event after it: verify must walk past the first row.
      auditRecord(orgId, { occurredAt: t + 1, detail: JSON.stringify({ path: "/api/😀" }) }),
    ];
    const result = await deliver(AUDIT_QUEUE_NAME, records);
    expect(result.retryMessages).toEqual([]);

    // Before the fix: ok:false, hash_mismatch at seq 1, on a row nobody altered.
    const verdict = await verifyChain(env.AUDIT_DB, await headKey(), orgId, CHAIN_START, 1000);
    expect(verdict).toMatchObject({ org: orgId, ok: true, rows_checked: 2, last_seq: 2, broken: null });

    const rows = await chainRows(orgId);
    expect(rows).toHaveLength(2);
    expect(shown([rows[0]?.subject, rows[0]?.actor, rows[0]?.client_id])).toBe(
      shown(["a\ufffdb", "\ufffd", "c\ufffd"]),
    );
    expect(shown(JSON.parse(rows[0]?.detail ?? ""))).toBe(shown({ note: "x\ufffd", list: ["ok", "y\ufffd"] }));
    // A well-formed detail is stored as its producer sent it, not re-serialised.
    expect(rows[1]?.detail).toBe(JSON.stringify({ path: "/api/😀" }));
  });

  it("the producer's caps make every string well-formed, keys and list items included", () => {
    expect(shown(capString("a\udc00b", 256))).toBe(shown("a\ufffdb"));
    expect(shown(capNullable("\ud800"))).toBe(shown("\ufffd"));
    expect(shown(capString(`${"a".repeat(300)}\ud800`, 256))).toBe(shown(`${"a".repeat(256)}…[truncated]`));
    const detail = serialiseCappedDetail({ "k\ud800": "v\udfff", list: ["\udc00"] });
    expect(shown(detail)).toBe(shown(JSON.stringify({ "k\ufffd": "v\ufffd", list: ["\ufffd"] })));
  });
});
