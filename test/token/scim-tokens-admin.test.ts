// An org's SCIM tokens through the admin API (workers/token/src/admin/scim-tokens.ts):
// created by platform operators and the org's owners/admins only, shown once,
// stored hashed, bound to the org in the path (GHSA-j8v8-g9cx-5qf4).
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { PLATFORM_ORG_ID } from "../../shared/contracts/tokens.ts";
import { verifySecret } from "../../shared/crypto/secret-hash.ts";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { createTestOrg } from "./clients-fixtures.ts";
import { seedSession } from "./fixtures.ts";

function asConsole(sessionToken: string, method: string, path: string, body?: unknown) {
  return exports.ConsoleAdmin.fetchAs(
    sessionToken,
    new Request(`http://localhost${ENDPOINT.admin}${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) }),
    }),
  );
}

describe("admin API: SCIM tokens", () => {
  it("an operator creates one (shown once, stored hashed), lists it without the token, deletes it", async () => {
    const token = await adminToken();
    const orgId = await createTestOrg();
    const created = await adminRequest("POST", `/orgs/${orgId}/scim-tokens`, {
      token,
      body: { description: "Okta", expires_in_days: 30 },
    });
    expect(created.status).toBe(201);
    const body = (await created.json()) as Record<string, string>;
    expect(body).toMatchObject({ org_id: orgId, description: "Okta", scim_url: `${env.ISSUER}${ENDPOINT.scim}` });
    expect(body.token).toMatch(/^sct_[A-Za-z0-9_-]{22}\.mas_[A-Za-z0-9_-]{43}$/);
    const row = await env.DB.prepare("SELECT token_hash FROM scim_token WHERE id = ?")
      .bind(body.id)
      .first<{ token_hash: string }>();
    expect(row?.token_hash).not.toContain(body.token);
    expect(await verifySecret(body.token as string, row?.token_hash)).toBe(true);

    const listed = await (await adminRequest("GET", `/orgs/${orgId}/scim-tokens`, { token })).json();
    expect(JSON.stringify(listed)).not.toContain(body.token);
    expect(listed).toEqual({
      scim_tokens: [expect.objectContaining({ id: body.id, org_id: orgId })],
      next_cursor: null,
    });

    expect((await adminRequest("DELETE", `/orgs/${orgId}/scim-tokens/${body.id}`, { token })).status).toBe(200);
    await expectHttpError(
      await adminRequest("DELETE", `/orgs/${orgId}/scim-tokens/${body.id}`, { token }),
      404,
      "not_found",
    );
    await expectHttpError(
      await adminRequest("POST", `/orgs/${orgId}/scim-tokens`, { token, body: { scope: "admin" } }),
      400,
      "invalid_body",
    );
  });

  it("a body without a Content-Type is 400 invalid_body, never read as no body: no token without the expiry asked for", async () => {
    const token = await adminToken();
    const orgId = await createTestOrg();
    const response = await exports.default.fetch(
      new Request(`http://localhost${ENDPOINT.admin}/orgs/${orgId}/scim-tokens`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}` },
        body: new TextEncoder().encode(JSON.stringify({ expires_in_days: 1 })),
      }),
    );
    await expectHttpError(response, 400, "invalid_body");
    const { results } = await env.DB.prepare("SELECT id FROM scim_token WHERE org_id = ?").bind(orgId).all();
    expect(results).toEqual([]);
    // No body at all still takes the defaults.
    const bare = await adminRequest("POST", `/orgs/${orgId}/scim-tokens`, { token });
    expect(bare.status).toBe(201);
  });

  it("GHSA-j8v8-g9cx-5qf4: only the org's owners/admins may create one, for their org only, never the platform's", async () => {
    const owner = await seedSession({ role: "owner" });
    expect((await asConsole(owner.token, "POST", `/orgs/${owner.orgId}/scim-tokens`)).status).toBe(201);
    const admin = await seedSession({ role: "admin" });
    expect((await asConsole(admin.token, "POST", `/orgs/${admin.orgId}/scim-tokens`)).status).toBe(201);

    const member = await seedSession({ role: "member" });
    await expectHttpError(await asConsole(member.token, "POST", `/orgs/${member.orgId}/scim-tokens`), 403, "forbidden");
    await expectHttpError(await asConsole(owner.token, "POST", `/orgs/${admin.orgId}/scim-tokens`), 403, "forbidden");
    await expectHttpError(
      await adminRequest("POST", `/orgs/${PLATFORM_ORG_ID}/scim-tokens`, { token: await adminToken() }),
      404,
      "not_found",
    );
  });

  it("the audit trail names the SCIM token created and deleted by its id, never its secret", async () => {
    const token = await adminToken();
    const orgId = await createTestOrg();
    const created = await adminRequest("POST", `/orgs/${orgId}/scim-tokens`, { token, body: { description: "Okta" } });
    expect(created.status).toBe(201);
    const body = (await created.json()) as { id: string; token: string };
    expect((await adminRequest("DELETE", `/orgs/${orgId}/scim-tokens/${body.id}`, { token })).status).toBe(200);
    const actions = async () =>
      (
        await env.AUDIT_DB.prepare("SELECT detail FROM audit_event WHERE org_id = ? AND kind = 'admin.action'")
          .bind(orgId)
          .all<{ detail: string }>()
      ).results.map((row) => JSON.parse(row.detail) as Record<string, unknown>);
    await expect.poll(async () => (await actions()).length).toBe(2);
    const details = await actions();
    expect(details.map((d) => [d.action, d.scim_token_id]).sort()).toEqual([
      ["scim.token.create", body.id],
      ["scim.token.delete", body.id],
    ]);
    const secretHalf = body.token.split(".")[1] ?? "";
    expect(secretHalf.length).toBeGreaterThan(20);
    expect(JSON.stringify(details)).not.toContain(secretHalf);
  });
});
