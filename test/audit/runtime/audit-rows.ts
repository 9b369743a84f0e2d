import { env } from "cloudflare:workers";
import { expect } from "vitest";

export interface AuditRow {
  id: string;
  occurred_at: number;
  org_id: string | null;
  kind: string;
  outcome: string;
  subject: string | null;
  actor: string | null;
  client_id: string | null;
  detail: string;
}

/** The audit rows a query selects, once at least one has arrived through the audit Queue. */
export async function arrivedRows(sql: string, ...params: unknown[]): Promise<AuditRow[]> {
  const read = async () =>
    (
      await env.AUDIT_DB.prepare(sql)
        .bind(...params)
        .all<AuditRow>()
    ).results;
  await expect.poll(async () => (await read()).length).toBeGreaterThan(0);
  return read();
}
