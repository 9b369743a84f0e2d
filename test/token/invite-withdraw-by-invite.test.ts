// DELETE /admin/v1/orgs/{org}/invites/{the invite itself}: an operator who
// pasted the invite where its jti belongs. The answer is 404 not_found, and
// neither the admin.action audit event nor the request log line keeps the
// invite, which is still a credential (it stays redeemable).
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { loggablePath } from "../../shared/observability/log.ts";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { createTestOrg } from "./clients-fixtures.ts";

afterEach(() => vi.restoreAllMocks());

describe("withdrawing a host invite named by the invite itself", () => {
  it("404 not_found; the audit event and the log line hold [jws], never the invite", async () => {
    const token = await adminToken();
    const orgId = await createTestOrg();
    const created = await adminRequest("POST", `/orgs/${orgId}/invites`, {
      token,
      body: { scopes: ["documents:read"], ttl_seconds: 600 },
    });
    expect(created.status).toBe(201);
    const { invite } = (await created.json()) as { invite: string };
    const logged: string[] = [];
    for (const level of ["log", "info", "warn", "error"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        logged.push(args.map(String).join(" "));
      });
    }

    const problem = await expectHttpError(
      await adminRequest("DELETE", `/orgs/${orgId}/invites/${invite}`, { token }),
      404,
      "not_found",
    );
    expect(problem.detail).toBe("no such invite: name it by its jti, not by the invite itself");

    const event = await vi.waitFor(async () => {
      const row = await env.AUDIT_DB.prepare(
        "SELECT detail FROM audit_event WHERE kind = 'admin.action' AND org_id = ? AND detail LIKE '%invite.withdraw%'",
      )
        .bind(orgId)
        .first<{ detail: string }>();
      if (!row) throw new Error("not audited yet");
      return JSON.parse(row.detail) as Record<string, unknown>;
    }, 10_000);
    expect(event).toMatchObject({
      action: "invite.withdraw",
      jti: "[jws]",
      path: `/admin/v1/orgs/${orgId}/invites/[jws]`,
      status: 404,
      error: "not_found",
    });
    const [header = "", claims = ""] = invite.split(".");
    const { results } = await env.AUDIT_DB.prepare("SELECT detail FROM audit_event WHERE org_id = ?").bind(orgId).all();
    for (const part of [header, claims]) {
      expect(JSON.stringify(results)).not.toContain(part.slice(0, 40));
      expect(logged.join("\n")).not.toContain(part.slice(0, 40));
    }
    expect(logged.join("\n")).toContain(`/invites/[jws]`);
  });

  it("a path segment is redacted only when it is a compact JWS, never a file name with dots", () => {
    expect(loggablePath("/api/docs/report.v2.pdf")).toBe("/api/docs/report.v2.pdf");
    expect(loggablePath("/a/eyJhbGciOiJFUzI1NiJ9.eyJqdGkiOiIxIn0.c2ln/b")).toBe("/a/[jws]/b");
  });
});
