import { env, exports } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { organization } from "../../shared/db/auth-schema.ts";
import { clientAddress } from "../support/credential-limits.ts";
import { REDIRECT_URI } from "../support/runtime/browser-oidc.ts";
import { adminRequest, expectHttpError } from "./admin-fixtures.ts";
import { createTestOrg } from "./clients-fixtures.ts";
import { operatorToken } from "./mcp-access-fixtures.ts";

// /oauth2/register/{org} names an org by id or slug. An org whose slug is
// another org's id (refused at create and update now, but a row from before
// may exist) must never take that org's registrations: the exact id wins.

let operator: string;
beforeAll(async () => {
  operator = await operatorToken();
});

function register(org: string) {
  return exports.default.fetch(
    new Request(`http://localhost${ENDPOINT.clientRegistration}/${encodeURIComponent(org)}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "cf-connecting-ip": clientAddress() },
      body: JSON.stringify({ redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: "none" }),
    }),
  );
}

async function setDcr(orgId: string, on: boolean) {
  const response = await adminRequest("PUT", `/orgs/${orgId}/client-registration`, {
    token: operator,
    body: { dynamic_client_registration: on },
  });
  expect(response.status).toBe(200);
}

/** The org a registered client belongs to, as the token endpoint will read it. */
async function clientOrg(clientId: string): Promise<string | undefined> {
  const row = await env.DB.prepare("SELECT metadata FROM oidc_client WHERE client_id = ?")
    .bind(clientId)
    .first<{ metadata: string }>();
  return row ? (JSON.parse(row.metadata) as { org_id: string }).org_id : undefined;
}

/** An org written straight to D1 whose slug is `slug`, as one could be before slugs were checked. */
async function squatter(slug: string): Promise<string> {
  const id = `squat-${crypto.randomUUID()}`;
  await drizzle(env.DB).insert(organization).values({ id, name: "Squatter", slug, createdAt: new Date() });
  return id;
}

describe("dynamic client registration: an org's id wins over another org's slug", () => {
  // Either insert order: without the rule, which row comes first is up to D1.
  for (const order of ["squatter first", "victim first"] as const) {
    it(`registers into the org whose id is named, never the one whose slug equals it (${order})`, async () => {
      const victimId = `victim-${crypto.randomUUID()}`;
      let squatterId: string;
      if (order === "squatter first") {
        squatterId = await squatter(victimId);
        await drizzle(env.DB)
          .insert(organization)
          .values({ id: victimId, name: "Victim", slug: `v-${crypto.randomUUID()}`, createdAt: new Date() });
      } else {
        await drizzle(env.DB)
          .insert(organization)
          .values({ id: victimId, name: "Victim", slug: `v-${crypto.randomUUID()}`, createdAt: new Date() });
        squatterId = await squatter(victimId);
      }
      await setDcr(squatterId, true);

      // The victim has registration off: the squatter's switch does not open it.
      const refused = await register(victimId);
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { error: string; error_description: string }).error_description).toMatch(
        /^ERR_DCR_DISABLED:/,
      );

      // The victim turns it on: the client is the victim's.
      await setDcr(victimId, true);
      const created = await register(victimId);
      expect(created.status).toBe(201);
      const { client_id } = (await created.json()) as { client_id: string };
      expect(await clientOrg(client_id)).toBe(victimId);
    });
  }

  it("still resolves a slug that is no org's id", async () => {
    const orgId = await createTestOrg();
    const slug = `acme-${crypto.randomUUID().slice(0, 8)}`;
    await env.DB.prepare("UPDATE organization SET slug = ? WHERE id = ?").bind(slug, orgId).run();
    await setDcr(orgId, true);
    const created = await register(slug);
    expect(created.status).toBe(201);
    expect(await clientOrg(((await created.json()) as { client_id: string }).client_id)).toBe(orgId);
  });
});

describe("admin API: a slug that reads as an org id is refused", () => {
  it("400 invalid_body ORG_SLUG_RESERVED for another org's id, an id-shaped slug and the platform's id", async () => {
    // createTestOrg's ids (org-<uuid>) fit the slug pattern but not the id shape: refused as another org's id.
    const otherId = await createTestOrg();
    await env.DB.prepare("UPDATE organization SET slug = ? WHERE id = ?")
      .bind(`other-${crypto.randomUUID().slice(0, 8)}`, otherId)
      .run();
    for (const slug of [otherId, "abcdefghijklmnopqrstuvwxyz012345", "platform"]) {
      const body = await expectHttpError(
        await adminRequest("POST", "/orgs", { token: operator, body: { name: "Squatter", slug } }),
        400,
        "invalid_body",
      );
      expect(body.error_description).toMatch(/^ORG_SLUG_RESERVED:/);
    }
    const count = await env.DB.prepare("SELECT COUNT(*) AS n FROM organization WHERE name = 'Squatter' AND slug = ?")
      .bind(otherId)
      .first<{ n: number }>();
    expect(count?.n).toBe(0);
  });
});
