import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { createTestOrg } from "./clients-fixtures.ts";

// The admin API's org-level nouns: the orgs themselves and each org's
// trusted ID-JAG issuers (clients and the token policy: admin-clients.test.ts).

let token: string;
beforeAll(async () => {
  token = await adminToken();
});

describe("admin API: orgs", () => {
  it("creates an organization (Better Auth's table) and lists it", async () => {
    const slug = `acme-${crypto.randomUUID().slice(0, 8)}`;
    const response = await adminRequest("POST", "/orgs", { token, body: { name: "Acme", slug } });
    expect(response.status).toBe(201);
    const org = (await response.json()) as { id: string; name: string; slug: string };
    expect(org).toMatchObject({ name: "Acme", slug });
    const row = await env.DB.prepare("SELECT name, slug, metadata FROM organization WHERE id = ?").bind(org.id).first();
    expect(row).toEqual({ name: "Acme", slug, metadata: null });
    const listed = (await (await adminRequest("GET", "/orgs", { token })).json()) as { orgs: { id: string }[] };
    expect(listed.orgs.map((o) => o.id)).toContain(org.id);
    // A slug is made up when none is given.
    const named = (await (await adminRequest("POST", "/orgs", { token, body: { name: "Beta Corp" } })).json()) as {
      slug: string;
    };
    expect(named.slug).toMatch(/^beta-corp-[0-9a-f]{8}$/);
  });

  it("409 conflict for a taken slug; 400 invalid_body for a bad body", async () => {
    const slug = `taken-${crypto.randomUUID().slice(0, 8)}`;
    expect((await adminRequest("POST", "/orgs", { token, body: { name: "A", slug } })).status).toBe(201);
    await expectHttpError(await adminRequest("POST", "/orgs", { token, body: { name: "B", slug } }), 409, "conflict");
    for (const body of [
      {},
      { name: "" },
      { name: 3 },
      { name: "A", slug: "Not A Slug" },
      { name: "A", extra: 1 },
      [],
      "x",
    ]) {
      await expectHttpError(await adminRequest("POST", "/orgs", { token, body }), 400, "invalid_body");
    }
    await expectHttpError(
      await adminRequest("POST", "/orgs", { token, body: "{", headers: { "Content-Type": "application/json" } }),
      400,
      "invalid_body",
    );
    await expectHttpError(
      await adminRequest("POST", "/orgs", {
        token,
        body: "name=A",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
      }),
      400,
      "invalid_body",
    );
  });

  it("404 not_found for an org that does not exist (the platform is none)", async () => {
    for (const org of ["no-such-org", "platform"]) {
      await expectHttpError(await adminRequest("GET", `/orgs/${org}/clients`, { token }), 404, "not_found");
    }
  });
});

describe("admin API: trusted issuers", () => {
  it("adds, lists and removes an org's trusted ID-JAG issuers", async () => {
    const orgId = await createTestOrg();
    const path = `/orgs/${orgId}/trusted-issuers`;
    const body = { issuer: "https://idp.example.com", jwks_uri: "https://idp.example.com/jwks.json" };
    const response = await adminRequest("POST", path, { token, body });
    expect(response.status).toBe(201);
    const added = (await response.json()) as { id: string };
    expect(added).toMatchObject({ org_id: orgId, ...body });
    await expectHttpError(await adminRequest("POST", path, { token, body }), 409, "conflict");
    const listed = (await (await adminRequest("GET", path, { token })).json()) as { trusted_issuers: { id: string }[] };
    expect(listed.trusted_issuers.map((i) => i.id)).toEqual([added.id]);
    expect((await adminRequest("DELETE", `${path}/${added.id}`, { token })).status).toBe(200);
    await expectHttpError(await adminRequest("DELETE", `${path}/${added.id}`, { token }), 404, "not_found");
  });

  it("400 invalid_body for an issuer or JWKS URL that is not https, has a query, or is our own", async () => {
    const orgId = await createTestOrg();
    for (const body of [
      { issuer: "http://idp.example.com", jwks_uri: "https://idp.example.com/jwks" },
      { issuer: "https://idp.example.com?x=1", jwks_uri: "https://idp.example.com/jwks" },
      { issuer: "https://idp.example.com", jwks_uri: "ftp://idp.example.com/jwks" },
      { issuer: env.ISSUER, jwks_uri: "https://idp.example.com/jwks" },
      { issuer: "https://idp.example.com" },
    ]) {
      await expectHttpError(
        await adminRequest("POST", `/orgs/${orgId}/trusted-issuers`, { token, body }),
        400,
        "invalid_body",
      );
    }
  });
});
