// An operator who pastes a secret where its id belongs (a SCIM token in place
// of its id, a client secret in place of the client id): the answer is 404
// not_found, and neither the admin.action audit event (path or detail) nor
// the request log keeps the secret, which still works. DESIGN, "Audit":
// nothing in an audit event carries a secret.
import { afterEach, describe, expect, it, vi } from "vitest";
import { loggablePath } from "../../shared/observability/log.ts";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { auditedAction, captureLogs, everyAuditedDetail } from "./audit-secrets-fixtures.ts";
import { createTestOrg } from "./clients-fixtures.ts";
import { AUDIENCE } from "./fixtures.ts";

afterEach(() => vi.restoreAllMocks());

describe("admin API: a secret pasted where an id belongs", () => {
  it("a SCIM token in place of its id: 404 not_found; audited and logged as [secret]; the token still listed", async () => {
    const token = await adminToken();
    const orgId = await createTestOrg();
    const created = await adminRequest("POST", `/orgs/${orgId}/scim-tokens`, { token, body: {} });
    expect(created.status).toBe(201);
    const scim = (await created.json()) as { id: string; token: string };
    const logged = captureLogs();

    const problem = await expectHttpError(
      await adminRequest("DELETE", `/orgs/${orgId}/scim-tokens/${scim.token}`, { token }),
      404,
      "not_found",
    );
    expect(problem.detail).toBe("no such SCIM token: name it by its id, not by the token itself");
    expect(await auditedAction(orgId, "scim.token.delete")).toMatchObject({
      scim_token_id: "[secret]",
      path: `/admin/v1/orgs/${orgId}/scim-tokens/[secret]`,
      status: 404,
      error: "not_found",
    });
    const secret = scim.token.split(".")[1] as string;
    expect(await everyAuditedDetail(orgId)).not.toContain(secret);
    expect(logged.join("\n")).not.toContain(secret);
    const listed = (await (await adminRequest("GET", `/orgs/${orgId}/scim-tokens`, { token })).json()) as {
      scim_tokens: { id: string }[];
    };
    expect(listed.scim_tokens.map((t) => t.id)).toEqual([scim.id]);
  });

  it("a client secret in place of the client id: 404 not_found; audited as [secret]", async () => {
    const token = await adminToken();
    const orgId = await createTestOrg();
    const created = await adminRequest("POST", `/orgs/${orgId}/clients`, {
      token,
      body: { client_name: "pasted", client_type: "machine", scope: "documents:read", audiences: [AUDIENCE] },
    });
    expect(created.status).toBe(201);
    const { client_secret: clientSecret } = (await created.json()) as { client_secret: string };
    const logged = captureLogs();

    await expectHttpError(
      await adminRequest("POST", `/orgs/${orgId}/clients/${clientSecret}/disable`, { token }),
      404,
      "not_found",
    );
    const event = await vi.waitFor(async () => {
      const all = await everyAuditedDetail(orgId);
      if (!all.includes("/disable")) throw new Error("not audited yet");
      return all;
    }, 10_000);
    expect(event).toContain(`/clients/[secret]/disable`);
    expect(event).not.toContain(clientSecret.slice(4));
    expect(logged.join("\n")).not.toContain(clientSecret.slice(4));
  });

  it("only a segment holding one of our secrets is redacted", () => {
    expect(loggablePath("/admin/v1/orgs/o/clients/mac_AAAAAAAAAAAAAAAAAAAAAAAA")).toBe(
      "/admin/v1/orgs/o/clients/mac_AAAAAAAAAAAAAAAAAAAAAAAA",
    );
    expect(loggablePath(`/a/mas_${"A".repeat(43)}/b`)).toBe("/a/[secret]/b");
    expect(loggablePath(`/a/sct_${"B".repeat(22)}.mas_${"C".repeat(43)}`)).toBe("/a/[secret]");
    expect(loggablePath("/api/docs/mas_notes.pdf")).toBe("/api/docs/mas_notes.pdf");
  });
});
