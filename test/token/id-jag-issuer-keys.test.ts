import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { JWT_TYP } from "../../shared/contracts/tokens.ts";
import { trustedIssuer } from "../../shared/db/schema.ts";
import { createTestOrg } from "./clients-fixtures.ts";
import { expectOAuthError } from "./fixtures.ts";
import { jagClaims, redeem } from "./id-jag-fixtures.ts";
import { issued, registerAgent } from "./token-exchange-fixtures.ts";

afterEach(() => vi.restoreAllMocks());

/** Base64url of bytes. */
function b64u(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** A P-256 public JWK whose y no longer matches x: a point off the curve. */
function offCurve(jwk: JWK): JWK {
  const y = Uint8Array.from(atob((jwk.y ?? "").replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  y[y.length - 1] = (y[y.length - 1] ?? 0) ^ 0x01;
  return { ...jwk, y: b64u(y) };
}

/**
 * An org trusting an external IdP whose JWKS (the one thing stood in for:
 * the IdP is not ours) holds `publish(realKey)` under the assertion's kid.
 */
async function trustedIdp(publish: (jwk: JWK) => JWK) {
  const orgId = await createTestOrg();
  const agent = await registerAgent(orgId);
  const idp = `https://idp-${crypto.randomUUID().slice(0, 8)}.partner.example`;
  const jwksUri = `${idp}/jwks`;
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "partner-1", alg: "ES256", use: "sig" };
  await drizzle(env.DB)
    .insert(trustedIssuer)
    .values({ id: crypto.randomUUID(), orgId, issuer: idp, jwksUri, createdAt: new Date() });
  const fetched: string[] = [];
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation((input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    if (url !== jwksUri) return realFetch(input, init);
    fetched.push(url);
    return Promise.resolve(Response.json({ keys: [publish(jwk)] }));
  });
  const assertion = await new SignJWT(jagClaims(orgId, "alice@partner", agent.clientId, { iss: idp }))
    .setProtectedHeader({ alg: "ES256", typ: JWT_TYP.idJag, kid: "partner-1" })
    .sign(privateKey);
  return { agent, assertion, fetched };
}

describe("ID-JAG from a trusted issuer whose JWKS holds an unusable key", () => {
  it("an off-curve EC key under the assertion's kid: 400 invalid_grant, not a 500", async () => {
    const { agent, assertion, fetched } = await trustedIdp(offCurve);
    const body = await expectOAuthError(await redeem(agent, assertion), 400, "invalid_grant");
    expect(body.error_description).toBe("assertion: the issuer's keys are unusable");
    expect(fetched.length).toBeGreaterThan(0);
  });

  it("a key whose coordinates have the wrong length: 400 invalid_grant", async () => {
    const { agent, assertion } = await trustedIdp((jwk) => ({ ...jwk, x: (jwk.x ?? "").slice(0, 20) }));
    await expectOAuthError(await redeem(agent, assertion), 400, "invalid_grant");
  });

  it("the same issuer's usable key is still accepted", async () => {
    const { agent, assertion } = await trustedIdp((jwk) => jwk);
    await issued(await redeem(agent, assertion));
  });
});
