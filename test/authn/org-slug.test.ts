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
