// What the tests of secrets pasted into admin paths read back: the org's
// admin.action events and every line the Workers logged meanwhile.
import { env } from "cloudflare:workers";
import { vi } from "vitest";

/** Every console line from now on (restore with vi.restoreAllMocks). */
export function captureLogs(): string[] {
  const logged: string[] = [];
  for (const level of ["log", "info", "warn", "error"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      logged.push(args.map(String).join(" "));
    });
  }
  return logged;
}

/** The org's admin.action event whose detail names `action` (and answered `status`, when given). */
export async function auditedAction(orgId: string, action: string, status?: number): Promise<Record<string, unknown>> {
  return vi.waitFor(async () => {
    const { results } = await env.AUDIT_DB.prepare(
      "SELECT detail FROM audit_event WHERE kind = 'admin.action' AND org_id = ?",
    )
      .bind(orgId)
      .all<{ detail: string }>();
    const found = results
      .map((row) => JSON.parse(row.detail) as Record<string, unknown>)
      .find((detail) => detail.action === action && (status === undefined || detail.status === status));
    if (!found) throw new Error("not audited yet");
    return found;
  }, 10_000);
}

/** Every audit detail the org holds, as one string to search. */
export async function everyAuditedDetail(orgId: string): Promise<string> {
  const { results } = await env.AUDIT_DB.prepare("SELECT detail FROM audit_event WHERE org_id = ?").bind(orgId).all();
  return JSON.stringify(results);
}
