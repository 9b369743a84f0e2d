// Every field an audit event echoes is capped in the producing Worker
// (shared/audit/caps.ts), so an unauthenticated request cannot write an
// attacker-sized row.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  AUDIT_CAPS,
  capString,
  serialiseCappedDetail,
  TRUNCATED,
  TRUNCATED_FIELDS_KEY,
} from "../../../shared/audit/caps.ts";
import { recordAudit } from "../../../shared/audit/record-audit.ts";
import { arrivedRows } from "./audit-rows.ts";

describe("audit caps", () => {
  it("truncates a string past its cap and marks it", () => {
    expect(TRUNCATED).toBe("…[truncated]");
    expect(AUDIT_CAPS.fieldChars).toBe(256);
    expect(capString("a".repeat(10_000), 256)).toBe(`${"a".repeat(256)}…[truncated]`);
    expect(capString("a".repeat(256), 256)).toBe("a".repeat(256));
    // Never half of a surrogate pair: the cut moves back one code unit.
    expect(capString(`x${"😀".repeat(200)}`, 256)).toBe(`x${"😀".repeat(127)}…[truncated]`);
  });

  it("caps a list's length and each of its items", () => {
    const matched = Array.from({ length: 40 }, (_, i) => `rule-${String(i).padStart(2, "0")}-${"r".repeat(200)}`);
    const detail = JSON.parse(serialiseCappedDetail({ matched })) as { matched: string[] };
    expect(detail.matched).toHaveLength(17);
    expect(detail.matched[0]).toBe(`${`rule-00-${"r".repeat(200)}`.slice(0, 128)}…[truncated]`);
    expect(detail.matched[15]).toBe(`${`rule-15-${"r".repeat(200)}`.slice(0, 128)}…[truncated]`);
    expect(detail.matched[16]).toBe("…[truncated]");
  });

  it("bounds the serialised detail: fields that do not fit are counted, not kept", () => {
    const detail: Record<string, string> = {};
    for (let i = 0; i < 40; i++) detail[`k${String(i).padStart(2, "0")}`] = "v".repeat(250);
    const json = serialiseCappedDetail(detail);
    expect(new TextEncoder().encode(json).byteLength).toBeLessThanOrEqual(AUDIT_CAPS.detailBytes);
    const parsed = JSON.parse(json) as Record<string, unknown>;
    // Each field is 259 bytes of JSON: 15 fit in the 4096-byte bound (less room for the count).
    const kept = Array.from({ length: 15 }, (_, i) => `k${String(i).padStart(2, "0")}`);
    expect(Object.keys(parsed)).toEqual([...kept, TRUNCATED_FIELDS_KEY]);
    expect(parsed[TRUNCATED_FIELDS_KEY]).toBe(25);
  });

  it("an attacker-sized event lands in the audit database capped, with secrets still redacted", async () => {
    const marker = crypto.randomUUID();
    const subject = `${marker}-${"s".repeat(10_000)}`;
    const path = `/api/documents/${"p".repeat(10_000)}`;
    const id = await recordAudit(env, {
      kind: "gateway.decision",
      outcome: "deny",
      orgId: "org-1",
      subject,
      clientId: "c".repeat(5_000),
      detail: { path, description: "d".repeat(50_000), access_token: "eyJ.secret.sig" },
    });
    const [row] = await arrivedRows("SELECT * FROM audit_event WHERE id = ?", id);
    expect(row?.org_id).toBe("org-1");
    expect(row?.subject).toBe(`${subject.slice(0, 256)}…[truncated]`);
    expect(row?.client_id).toBe(`${"c".repeat(256)}…[truncated]`);
    expect(JSON.parse(row?.detail ?? "null")).toEqual({
      path: `${path.slice(0, 256)}…[truncated]`,
      description: `${"d".repeat(256)}…[truncated]`,
      access_token: "[redacted]",
    });
  });
});
