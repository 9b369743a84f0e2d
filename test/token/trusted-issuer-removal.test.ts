// An org that stops trusting an external ID-JAG issuer ends the access it
// granted, as removing an identity provider does at Okta or Keycloak: every
// token redeemed from that issuer's ID-JAGs rests on the org's trust in it
// (`grant_chain`: trusted-issuer:<id>, grants/jwt-bearer.ts), and the
// removal records that trust's `grant` revocation in the org's Durable
// Object before the row goes (admin/trusted-issuers.ts).
import { env } from "cloudflare:workers";
import { decodeJwt, exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { trustedIssuerGrantId } from "../../shared/contracts/revocation.ts";
import { JWT_TYP, TOKEN_TYPE } from "../../shared/contracts/tokens.ts";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { clientToken, createTestOrg } from "./clients-fixtures.ts";
import { expectOAuthError } from "./fixtures.ts";
import { grantEvents } from "./grant-revocation-fixtures.ts";
import { jagClaims, redeem } from "./id-jag-fixtures.ts";
import { introspected } from "./revocation-fixtures.ts";
import { exchange, issued, registerAgent } from "./token-exchange-fixtures.ts";

afterEach(() => vi.restoreAllMocks());

/** An external IdP of this test's own (its JWKS stood in for: the one thing not ours), trusted by a new org. */
async function trustedIdp() {
  const orgId = await createTestOrg();
  const agent = await registerAgent(orgId);
  const idp = `https://idp-${crypto.randomUUID()}.partner.example`;
  const jwksUri = `${idp}/jwks`;
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "partner-1", alg: "ES256", use: "sig" };
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation((input, init) =>
    String(input instanceof Request ? input.url : input) === jwksUri
      ? Promise.resolve(Response.json({ keys: [jwk] }))
      : realFetch(input, init),
  );
  const admin = await adminToken();
  const trust = async () => {
    const response = await adminRequest("POST", `/orgs/${orgId}/trusted-issuers`, {
      token: admin,
      body: { issuer: idp, jwks_uri: jwksUri },
    });
    expect(response.status).toBe(201);
    return ((await response.json()) as { id: string }).id;
  };
  const idJag = () =>
    new SignJWT(jagClaims(orgId, "alice@partner", agent.clientId, { iss: idp, tenant: "acme" }))
      .setProtectedHeader({ alg: "ES256", typ: JWT_TYP.idJag, kid: "partner-1" })
      .sign(privateKey);
  const remove = (id: string) => adminRequest("DELETE", `/orgs/${orgId}/trusted-issuers/${id}`, { token: admin });
  const listed = async () => {
    const response = await adminRequest("GET", `/orgs/${orgId}/trusted-issuers`, { token: admin });
    return ((await response.json()) as { trusted_issuers: { id: string }[] }).trusted_issuers.map((t) => t.id);
  };
  const retrust = () =>
    adminRequest("POST", `/orgs/${orgId}/trusted-issuers`, { token: admin, body: { issuer: idp, jwks_uri: jwksUri } });
  return { orgId, agent, trust, idJag, remove, listed, retrust };
}

/** D1 refuses to delete this one row (a trigger: a real D1 error, no binding mocked) until the returned function is called. */
async function refuseDeletion(id: string): Promise<() => Promise<void>> {
  const trigger = `refuse_${crypto.randomUUID().replaceAll("-", "")}`;
  await env.DB.prepare(
    `CREATE TRIGGER ${trigger} BEFORE DELETE ON trusted_issuer WHEN OLD.id = '${id}'
     BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`,
  ).run();
  return async () => {
    await env.DB.prepare(`DROP TRIGGER ${trigger}`).run();
  };
}

const rowCount = async (id: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM trusted_issuer WHERE id = ?").bind(id).first<{ n: number }>())?.n;

describe("removing a trusted ID-JAG issuer", () => {
  it("ends every token redeemed from its grants, and what was exchanged from them; nothing else", async () => {
    const { agent, trust, idJag, remove } = await trustedIdp();
    const id = await trust();
    const redeemed = (await issued(await redeem(agent, await idJag()))).body.access_token;
    expect(decodeJwt(redeemed).grant_chain).toEqual([trustedIssuerGrantId(id)]);
    const narrowed = (
      await issued(await exchange(agent, { subject_token: redeemed, subject_token_type: TOKEN_TYPE.accessToken }))
    ).body.access_token;
    expect(decodeJwt(narrowed).grant_chain).toEqual([trustedIssuerGrantId(id)]);
    const ownToken = await clientToken(agent);
    const unredeemed = await idJag();

    const removal = await remove(id);
    expect(removal.status).toBe(200);
    expect(await removal.json()).toEqual({ id, deleted: true });
    expect(await introspected(redeemed, agent)).toEqual({ active: false });
    expect(await introspected(narrowed, agent)).toEqual({ active: false });
    // RFC 7521 §4.1.1: a grant of an issuer no longer trusted is invalid_grant.
    await expectOAuthError(await redeem(agent, unredeemed), 400, "invalid_grant");
    // The agent's own token never rested on the issuer.
    expect(await introspected(ownToken, agent)).toMatchObject({ active: true });
    // Gone: a second removal finds nothing.
    await expectHttpError(await remove(id), 404, "not_found");
  });

  it("answers 503 and keeps the issuer trusted while its cut-off cannot be recorded; the retry removes it", async () => {
    const { agent, trust, idJag, remove, listed } = await trustedIdp();
    const id = await trust();
    // The org's object records no value over 256 characters: a real refusal, no binding mocked.
    const unrecordable = `${id}-${"x".repeat(260)}`;
    await env.DB.prepare("UPDATE trusted_issuer SET id = ? WHERE id = ?").bind(unrecordable, id).run();
    await expectHttpError(await remove(unrecordable), 503, "temporarily_unavailable");
    expect(await listed()).toEqual([unrecordable]);
    expect((await redeem(agent, await idJag())).status).toBe(200);
    // The object is back (the row its own id again): the retry records the cut-off and removes the issuer.
    await env.DB.prepare("UPDATE trusted_issuer SET id = ? WHERE id = ?").bind(id, unrecordable).run();
    expect((await remove(id)).status).toBe(200);
    await expectOAuthError(await redeem(agent, await idJag()), 400, "invalid_grant");
  });

  // The removal withdraws the trust, records the cut-off (again after D1 when D1 was slow) and only then
  // deletes the row. It deleted the row before its last recording: one that failed after a slow delete
  // answered 503 with the row gone, the retry found nothing (404) and the cut-off was never recorded.
  it("a removal that fails after withdrawing the trust answers 503 and leaves the row to its retry, which finishes it", async () => {
    const { orgId, agent, trust, idJag, remove, listed, retrust } = await trustedIdp();
    const id = await trust();
    const redeemed = (await issued(await redeem(agent, await idJag()))).body.access_token;

    // D1 fails after the object has the cut-off: 503, the trust already withdrawn, the row kept.
    const allow = await refuseDeletion(id);
    try {
      await expectHttpError(await remove(id), 503, "temporarily_unavailable");
    } finally {
      await allow();
    }
    expect(await rowCount(id)).toBe(1);
    const refused = await expectOAuthError(await redeem(agent, await idJag()), 400, "invalid_grant");
    expect(refused.error_description).toBe("assertion: issuer not trusted by this org");
    expect(await introspected(redeemed, agent)).toEqual({ active: false });
    expect(await listed()).toEqual([]);
    // Its unfinished removal holds the issuer's place: trusting it again waits for the retry.
    const again = await expectHttpError(await retrust(), 409, "conflict");
    expect(again.error_description).toContain(id);

    // The retry's own recording fails (the object records no value over 256 characters): 503, the row still kept.
    const unrecordable = `${id}-${"x".repeat(260)}`;
    await env.DB.prepare("UPDATE trusted_issuer SET id = ? WHERE id = ?").bind(unrecordable, id).run();
    await expectHttpError(await remove(unrecordable), 503, "temporarily_unavailable");
    expect(await rowCount(unrecordable)).toBe(1);
    await env.DB.prepare("UPDATE trusted_issuer SET id = ? WHERE id = ?").bind(id, unrecordable).run();

    // The object is back: the retry records the cut-off, then deletes the row; only now is it gone.
    const retriedAt = Math.floor(Date.now() / 1000);
    const done = await remove(id);
    expect(done.status).toBe(200);
    expect(await done.json()).toEqual({ id, deleted: true });
    expect(await rowCount(id)).toBe(0);
    const events = await grantEvents(orgId, trustedIssuerGrantId(id));
    expect(events.at(-1)?.revoked_at).toBeGreaterThanOrEqual(retriedAt);
    await expectHttpError(await remove(id), 404, "not_found");
    expect((await retrust()).status).toBe(201);
  });

  it("leaves nothing redeemed in the race with it alive once it answers, whichever runs first", async () => {
    const { agent, trust, idJag, remove } = await trustedIdp();
    const id = await trust();
    const grants = await Promise.all(Array.from({ length: 6 }, () => idJag()));
    // Fired at once: redemptions and two removals. Every interleaving must end with no redeemed token active.
    const [removals, redemptions] = await Promise.all([
      Promise.all([remove(id), remove(id)]),
      Promise.all(grants.map((grant) => redeem(agent, grant))),
    ]);
    // Each removal either removed it (recording the cut-off first) or found it gone already.
    const statuses = removals.map((r) => r.status);
    expect(statuses.every((status) => status === 200 || status === 404)).toBe(true);
    expect(statuses).toContain(200);
    for (const response of redemptions) {
      if (response.status === 200) {
        const { access_token } = (await response.json()) as { access_token: string };
        expect(await introspected(access_token, agent)).toEqual({ active: false });
      } else {
        await expectOAuthError(response, 400, "invalid_grant");
      }
    }
  });

  it("does not reach what the issuer grants once trusted again (a new trust)", async () => {
    const { agent, trust, idJag, remove } = await trustedIdp();
    expect((await remove(await trust())).status).toBe(200);
    const again = await trust();
    const redeemed = (await issued(await redeem(agent, await idJag()))).body.access_token;
    expect(decodeJwt(redeemed).grant_chain).toEqual([trustedIssuerGrantId(again)]);
    expect(await introspected(redeemed, agent)).toMatchObject({ active: true });
  });
});
