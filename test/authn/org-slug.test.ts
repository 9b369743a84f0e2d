// A slug never reads as an org id: Better Auth's organization create and
// update refuse an id-shaped slug, the platform's id and any existing org's
// id (workers/authn/src/auth/org-slug-hooks.ts), so /oauth2/register/{org}
// and anything else that takes an id or a slug cannot be pointed at another
// org by its owner's choice of slug.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, signUp } from "./helpers.ts";

async function expectReserved(response: Response) {
  expect(response.status).toBe(400);
  expect(((await response.json()) as { code: string }).code).toBe("ORG_SLUG_RESERVED");
}

async function slugOf(orgId: string) {
  return (await env.DB.prepare("SELECT slug FROM organization WHERE id = ?").bind(orgId).first<{ slug: string }>())
    ?.slug;
}

describe("organization slugs that read as org ids", () => {
  it("create: 400 ORG_SLUG_RESERVED for another org's id, an id-shaped slug or the platform's id", async () => {
    const victim = await signUp();
    const owner = await signUp();
    for (const slug of [victim.orgId, "Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6", "platform"]) {
      await expectReserved(await api("/organization/create", { name: "Squatter", slug }, { Cookie: owner.cookie }));
    }
    const { n } = (await env.DB.prepare("SELECT COUNT(*) AS n FROM organization WHERE slug = ?")
      .bind(victim.orgId)
      .first<{ n: number }>()) ?? { n: -1 };
    expect(n).toBe(0);
    // An ordinary slug is still fine.
    const fine = await api(
      "/organization/create",
      { name: "Fine", slug: `fine-${crypto.randomUUID().slice(0, 8)}`, keepCurrentActiveOrganization: true },
      { Cookie: owner.cookie },
    );
    expect(fine.status).toBe(200);
  });

  it("update: 400 ORG_SLUG_RESERVED renaming the slug to another org's id; the slug stays", async () => {
    const victim = await signUp();
    const owner = await signUp();
    const before = await slugOf(owner.orgId);
    await expectReserved(
      await api(
        "/organization/update",
        { organizationId: owner.orgId, data: { slug: victim.orgId } },
        { Cookie: owner.cookie },
      ),
    );
    expect(await slugOf(owner.orgId)).toBe(before);
    const renamed = await api(
      "/organization/update",
      { organizationId: owner.orgId, data: { slug: `renamed-${crypto.randomUUID().slice(0, 8)}` } },
      { Cookie: owner.cookie },
    );
    expect(renamed.status).toBe(200);
  });
});

describe("organization/check-slug applies create's rule", () => {
  it("answers a reserved slug 400 ORG_SLUG_RESERVED, in the shape Better Auth gives a taken one", async () => {
    const victim = await signUp();
    const owner = await signUp();
    for (const slug of [victim.orgId, "Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6", "platform"]) {
      const response = await api("/organization/check-slug", { slug }, { Cookie: owner.cookie });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        code: "ORG_SLUG_RESERVED",
        message: "A slug may not look like an organization id.",
      });
    }
    // Better Auth's own answers stay: a taken slug, a free one.
    const taken = await api("/organization/check-slug", { slug: await slugOf(victim.orgId) }, { Cookie: owner.cookie });
    expect(taken.status).toBe(400);
    expect(await taken.json()).toEqual({
      code: "ORGANIZATION_SLUG_ALREADY_TAKEN",
      message: "Organization slug already taken",
    });
    const free = await api(
      "/organization/check-slug",
      { slug: `free-${crypto.randomUUID().slice(0, 8)}` },
      { Cookie: owner.cookie },
    );
    expect(free.status).toBe(200);
    expect(await free.json()).toEqual({ status: true });
  });

  it("tells nobody signed out anything: 401 whatever the slug", async () => {
    const victim = await signUp();
    for (const slug of [victim.orgId, "free-slug-nobody-has"]) {
      const response = await api("/organization/check-slug", { slug });
      expect(response.status).toBe(401);
      expect(((await response.json()) as { code: string }).code).toBe("UNAUTHORIZED");
    }
  });
});
