// RFC 8693 token exchange: the subject and actor tokens must be live tokens
// of ours — verified, not revoked (by jti, session, subject or client, read
// from the org's Durable Object on every exchange), under a key still
// published. Split from token-exchange.test.ts along that seam.
import { env } from "cloudflare:workers";
import { generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { adminAudience } from "../../shared/contracts/endpoints.ts";
import { JWT_TYP } from "../../shared/contracts/tokens.ts";
import { recordRevocation } from "../../shared/revocation/record-revocation.ts";
import { tokenConfig } from "../../workers/token/src/config.ts";
import { operatorRotation } from "../../workers/token/src/keys/rotation.ts";
import { keyStore } from "../../workers/token/src/keys/signing-keys.ts";
import { clientToken } from "./clients-fixtures.ts";
import { expectOAuthError, signWithOurKey } from "./fixtures.ts";
import {
  claims,
  delegationParams,
  exchange,
  grantDelegation,
  orgWithAgent,
  registerAgent,
  userToken,
} from "./token-exchange-fixtures.ts";

describe("the subject and actor tokens must be live tokens of ours", () => {
  it("invalid_request for an expired, forged, admin-audience or malformed subject token", async () => {
    const { orgId, userId, agent } = await orgWithAgent();
    await grantDelegation(orgId, userId, agent);
    const actor = await clientToken(agent);
    const now = Math.floor(Date.now() / 1000);
    const expired = await signWithOurKey(
      JWT_TYP.accessToken,
      claims(orgId, userId, { iat: now - 600, exp: now - 300 }),
    );
    const { privateKey } = await generateKeyPair("ES256");
    const forged = await new SignJWT(claims(orgId, userId))
      .setProtectedHeader({ alg: "ES256", typ: JWT_TYP.accessToken, kid: "not-ours" })
      .sign(privateKey);
    const admin = await signWithOurKey(JWT_TYP.accessToken, claims(orgId, userId, { aud: adminAudience(env.ISSUER) }));
    for (const subject of [expired, forged, admin, "not.a.jwt"]) {
      await expectOAuthError(await exchange(agent, delegationParams(subject, actor)), 400, "invalid_request");
    }
  });

  it("invalid_request for a subject token revoked by jti, by session or by subject, read from the org's Durable Object", async () => {
    const { orgId, userId, agent } = await orgWithAgent();
    await grantDelegation(orgId, userId, agent);
    const actor = await clientToken(agent);
    const byJti = claims(orgId, userId);
    await recordRevocation(env, { orgId, kind: "jti", value: byJti.jti, reason: "test" }, { jtiExpiresAt: byJti.exp });
    const sid = `s-${crypto.randomUUID()}`;
    const bySession = claims(orgId, userId, { sid });
    await recordRevocation(env, { orgId, kind: "session", value: sid, reason: "test" });
    for (const subject of [byJti, bySession]) {
      const token = await signWithOurKey(JWT_TYP.accessToken, subject);
      await expectOAuthError(await exchange(agent, delegationParams(token, actor)), 400, "invalid_request");
    }
    const live = await userToken(orgId, userId);
    expect((await exchange(agent, delegationParams(live, actor))).status).toBe(200);
    await recordRevocation(env, { orgId, kind: "subject", value: userId, reason: "test" });
    await expectOAuthError(await exchange(agent, delegationParams(live, actor)), 400, "invalid_request");
  });

  it("the same tokens exchange again and again (verified once per isolate), and are refused at once when the actor token is revoked", async () => {
    const { orgId, userId, agent } = await orgWithAgent();
    await grantDelegation(orgId, userId, agent);
    const actor = await clientToken(agent);
    const params = delegationParams(await userToken(orgId, userId), actor);
    for (let i = 0; i < 3; i++) expect((await exchange(agent, params)).status).toBe(200);
    // Revocation is never remembered: the org's object is asked on every exchange.
    const { jti, exp } = JSON.parse(atob(actor.split(".")[1]?.replaceAll("-", "+").replaceAll("_", "/") ?? "")) as {
      jti: string;
      exp: number;
    };
    await recordRevocation(env, { orgId, kind: "jti", value: jti, reason: "test" }, { jtiExpiresAt: exp });
    await expectOAuthError(await exchange(agent, params), 400, "invalid_request");
  });

  it("invalid_request at once for tokens whose signing key an emergency rotation retired, right after they exchanged", async () => {
    const { orgId, userId, agent } = await orgWithAgent();
    await grantDelegation(orgId, userId, agent);
    const params = delegationParams(await userToken(orgId, userId), await clientToken(agent));
    // This exchange reads our keys, so the next one starts its reads with them
    // before its own read answers (grants/token-exchange-prefetch.ts).
    expect((await exchange(agent, params)).status).toBe(200);
    await operatorRotation(keyStore(env, tokenConfig(env)), { emergency: true });
    await expectOAuthError(await exchange(agent, params), 400, "invalid_request");
    const signedByTheNextKey = delegationParams(await userToken(orgId, userId), await clientToken(agent));
    expect((await exchange(agent, signedByTheNextKey)).status).toBe(200);
  });

  it("invalid_request for an actor token whose client was revoked", async () => {
    const { orgId, userId, agent } = await orgWithAgent();
    await grantDelegation(orgId, userId, agent);
    const actor = await clientToken(agent);
    await recordRevocation(env, { orgId, kind: "client", value: agent.clientId, reason: "test" });
    await expectOAuthError(
      await exchange(agent, delegationParams(await userToken(orgId, userId), actor)),
      400,
      "invalid_request",
    );
  });

  it("invalid_request for a subject token whose act chain names a revoked client", async () => {
    const { orgId, userId, agent } = await orgWithAgent();
    const earlier = await registerAgent(orgId);
    await grantDelegation(orgId, userId, agent);
    const actor = await clientToken(agent);
    // A token that names `earlier` only in its act chain, not as its client.
    const passedOn = await userToken(orgId, userId, { actor: { sub: earlier.clientId, client_id: earlier.clientId } });
    expect((await exchange(agent, delegationParams(passedOn, actor))).status).toBe(200);
    await recordRevocation(env, { orgId, kind: "client", value: earlier.clientId, reason: "test" });
    await expectOAuthError(await exchange(agent, delegationParams(passedOn, actor)), 400, "invalid_request");
  });
});
