// A secret pasted where its id belongs is kept out of the admin.action
// audit event even when the path carries it percent-encoded (RFC 3986
// §2.1: `%65yJ…` is `eyJ…`, `%6Das_…` is `mas_…`). The router decodes the
// segment, so the handler sees the token and refuses it, but the event's
// `path` was redacted only as written, and so kept an invite that still
// works, or a SCIM token, readable by anyone who reads the org's trail.
// DESIGN, "Audit": nothing in an audit event carries a secret. The request
// log line (shared/observability/log.ts loggablePath) is held to the same.
import { afterEach, describe, expect, it, vi } from "vitest";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { auditedAction, captureLogs, everyAuditedDetail } from "./audit-secrets-fixtures.ts";
import { createTestOrg } from "./clients-fixtures.ts";

afterEach(() => vi.restoreAllMocks());

describe("admin API: a percent-encoded secret in the path", () => {
  it("an invite, its first letter percent-encoded, in place of its jti: 404, the path audited as [jws]", async () => {
    const token = await adminToken();
    const orgId = await createTestOrg();
    const created = await adminRequest("POST", `/orgs/${orgId}/invites`, {
      token,
      body: { scopes: ["documents:read"], ttl_seconds: 600 },
    });
    expect(created.status).toBe(201);
    const { invite } = (await created.json()) as { invite: string };
    expect(invite.startsWith("ey")).toBe(true);
    const logged = captureLogs();

    await expectHttpError(
      await adminRequest("DELETE", `/orgs/${orgId}/invites/%65${invite.slice(1)}`, { token }),
      404,
      "not_found",
    );
    expect(await auditedAction(orgId, "invite.withdraw", 404)).toMatchObject({
      jti: "[jws]",
      path: `/admin/v1/orgs/${orgId}/invites/[jws]`,
    });
    const signature = invite.split(".")[2] as string;
    expect(await everyAuditedDetail(orgId)).not.toContain(signature);
    expect(logged.join("\n")).toContain(`/admin/v1/orgs/${orgId}/invites/[jws]`);
    expect(logged.join("\n")).not.toContain(signature);
  });

  it("a SCIM token with `mas_` percent-encoded in place of its id: 404, the path audited as [secret]", async () => {
    const token = await adminToken();
    const orgId = await createTestOrg();
    const created = await adminRequest("POST", `/orgs/${orgId}/scim-tokens`, { token, body: {} });
    expect(created.status).toBe(201);
    const scim = (await created.json()) as { token: string };
    const encoded = scim.token.replace("mas_", "%6Das_");
    expect(encoded).not.toBe(scim.token);
    const logged = captureLogs();

    await expectHttpError(
      await adminRequest("DELETE", `/orgs/${orgId}/scim-tokens/${encoded}`, { token }),
      404,
      "not_found",
    );
    expect(await auditedAction(orgId, "scim.token.delete", 404)).toMatchObject({
      scim_token_id: "[secret]",
      path: `/admin/v1/orgs/${orgId}/scim-tokens/[secret]`,
    });
    const secret = (scim.token.split(".")[1] as string).slice("mas_".length);
    expect(await everyAuditedDetail(orgId)).not.toContain(secret);
    expect(logged.join("\n")).toContain(`/admin/v1/orgs/${orgId}/scim-tokens/[secret]`);
    expect(logged.join("\n")).not.toContain(secret);
  });

  it("an ordinary encoded segment is kept as written", async () => {
    const token = await adminToken();
    const orgId = await createTestOrg();
    await expectHttpError(
      await adminRequest("DELETE", `/orgs/${orgId}/scim-tokens/no%20such%2Fid`, { token }),
      404,
      "not_found",
    );
    expect(await auditedAction(orgId, "scim.token.delete", 404)).toMatchObject({
      path: `/admin/v1/orgs/${orgId}/scim-tokens/no%20such%2Fid`,
    });
  });
});
