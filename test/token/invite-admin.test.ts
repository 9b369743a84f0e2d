// POST /admin/v1/orgs/{org}/invites (workers/token/src/admin/invites.ts):
// an operator mints a single-use host invite; every refusal with its code.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { MAX_HOST_INVITE_TTL_SECONDS } from "../../shared/contracts/tokens.ts";
import { verifyInvite } from "../../workers/token/src/invites/invite-token.ts";
import { databaseKeyResolver } from "../../workers/token/src/keys/database-key-resolver.ts";
import { adminRequest, adminToken, expectHttpError, registerOperator } from "./admin-fixtures.ts";
import { createTestOrg } from "./clients-fixtures.ts";
import { freshClientAddress } from "./fixtures.ts";
import { hostKey, issuer, possessionProof } from "./invite-fixtures.ts";
import { exports } from "cloudflare:workers";

const AUDIENCES = env.ALLOWED_AUDIENCES.split(" ");

interface CreatedInvite {
  invite: string;
  jti: string;
  org_id: string;
  expires_at: string;
  scopes: string[];
  audiences: string[];
  labels: Record<string, string>;
  bootstrap_endpoint: string;
}

async function createInvite(orgId: string, body: unknown, token?: string): Promise<Response> {
  return adminRequest("POST", `/orgs/${orgId}/invites`, { token: token ?? (await adminToken()), body });
}

describe("admin API: host invites", () => {
  it("201: a signed invite for the org with the scopes, audiences, labels and lifetime asked for, stored once", async () => {
    const operator = await registerOperator();
    const orgId = await createTestOrg();
    const before = Math.floor(Date.now() / 1000);
    const response = await createInvite(
      orgId,
      { scopes: ["documents:read"], audiences: [AUDIENCES[0]], labels: { role: "web", rack: "r1" }, ttl_seconds: 600 },
      await adminToken(operator),
    );
    expect(response.status).toBe(201);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const body = (await response.json()) as CreatedInvite;
    expect(body).toMatchObject({
      org_id: orgId,
      scopes: ["documents:read"],
      audiences: [AUDIENCES[0]],
      labels: { role: "web", rack: "r1" },
      bootstrap_endpoint: `${issuer}${ENDPOINT.hostBootstrap}`,
    });
    const claims = await verifyInvite(body.invite, { issuer, resolveKey: databaseKeyResolver(env.DB) });
    expect(claims).toMatchObject({ jti: body.jti, org_id: orgId, scope: "documents:read", labels: body.labels });
    expect(claims.exp - claims.iat).toBe(600);
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(new Date(body.expires_at).getTime()).toBe(claims.exp * 1000);

    const row = await env.DB.prepare("SELECT * FROM host_invite WHERE jti = ?").bind(body.jti).first();
    expect(row).toMatchObject({
      org_id: orgId,
      scopes: "documents:read",
      audiences: AUDIENCES[0],
      labels: JSON.stringify({ role: "web", rack: "r1" }),
      created_by: operator.clientId,
      redeemed_at: null,
      client_id: null,
      expires_at: claims.exp * 1000,
    });
  });

  it("without audiences, the host gets the issuer's default audience only (the first it serves), not every one", async () => {
    const response = await createInvite(await createTestOrg(), { scopes: "documents:read", ttl_seconds: 60 });
    expect(response.status).toBe(201);
    expect(AUDIENCES.length).toBeGreaterThan(1);
    expect(((await response.json()) as CreatedInvite).audiences).toEqual([AUDIENCES[0]]);
  });

  it("is audited as an admin action naming the invite's jti, never the invite", async () => {
    const operator = await registerOperator();
    const orgId = await createTestOrg();
    const response = await createInvite(
      orgId,
      { scopes: ["documents:read"], ttl_seconds: 60 },
      await adminToken(operator),
    );
    const { jti, invite } = (await response.json()) as CreatedInvite;
    await expect
      .poll(async () => {
        const row = await env.AUDIT_DB.prepare(
          "SELECT outcome, client_id, detail FROM audit_event WHERE kind = 'admin.action' AND org_id = ?",
        )
          .bind(orgId)
          .first<{ outcome: string; client_id: string; detail: string }>();
        return row && { ...row, detail: JSON.parse(row.detail) };
      })
      .toMatchObject({ outcome: "allow", client_id: operator.clientId, detail: { action: "invite.create", jti } });
    const { results } = await env.AUDIT_DB.prepare("SELECT detail FROM audit_event WHERE org_id = ?").bind(orgId).all();
    expect(JSON.stringify(results)).not.toContain(invite);
  });

  it("redeems at the bootstrap endpoint once", async () => {
    const orgId = await createTestOrg();
    const { invite } = (await (
      await createInvite(orgId, { scopes: ["documents:read"], ttl_seconds: 60 })
    ).json()) as CreatedInvite;
    const redeem = async () =>
      exports.default.fetch(
        new Request(`http://localhost${ENDPOINT.hostBootstrap}`, {
          method: "POST",
          headers: { "Content-Type": "application/json", "cf-connecting-ip": freshClientAddress() },
          body: JSON.stringify({ invite, proof: await possessionProof(await hostKey(), invite) }),
        }),
      );
    expect((await redeem()).status).toBe(201);
    expect((await redeem()).status).toBe(409);
  });

  it("400 invalid_body for what is not an invite an org's host may hold", async () => {
    const orgId = await createTestOrg();
    const token = await adminToken();
    const cases: Record<string, unknown> = {
      "no scopes": { ttl_seconds: 60 },
      "empty scopes": { scopes: [], ttl_seconds: 60 },
      "the admin scope": { scopes: ["admin"], ttl_seconds: 60 },
      "an unknown scope": { scopes: ["everything"], ttl_seconds: 60 },
      "an audience the issuer does not serve": {
        scopes: ["documents:read"],
        audiences: ["https://x.example"],
        ttl_seconds: 60,
      },
      "no ttl": { scopes: ["documents:read"] },
      "a ttl over 24 h": { scopes: ["documents:read"], ttl_seconds: MAX_HOST_INVITE_TTL_SECONDS + 1 },
      "a ttl under a minute": { scopes: ["documents:read"], ttl_seconds: 5 },
      "labels that are not strings": { scopes: ["documents:read"], ttl_seconds: 60, labels: { a: 1 } },
      "a label key with spaces": { scopes: ["documents:read"], ttl_seconds: 60, labels: { "a b": "c" } },
      "an unknown field": { scopes: ["documents:read"], ttl_seconds: 60, org_id: "other" },
      "not an object": ["documents:read"],
    };
    for (const [name, body] of Object.entries(cases)) {
      await expectHttpError(await createInvite(orgId, body, token), 400, "invalid_body").catch((error: unknown) => {
        throw new Error(`${name}: ${error}`);
      });
    }
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM host_invite WHERE org_id = ?")
      .bind(orgId)
      .first<{ n: number }>();
    expect(rows?.n).toBe(0);
  });

  it("404 not_found for an org that does not exist; 401 without an operator's token", async () => {
    await expectHttpError(
      await createInvite("no-such-org", { scopes: ["documents:read"], ttl_seconds: 60 }),
      404,
      "not_found",
    );
    const anonymous = await adminRequest("POST", `/orgs/${await createTestOrg()}/invites`, {
      body: { scopes: ["documents:read"], ttl_seconds: 60 },
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("WWW-Authenticate")).toMatch(/^Bearer /);
  });
});
