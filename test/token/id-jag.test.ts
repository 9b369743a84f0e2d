import { env, exports } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { DPOP_HEADER } from "../../shared/contracts/headers.ts";
import { GRANT_TYPE, ID_JAG_GRANT_PROFILE, JWT_TYP, TOKEN_TYPE } from "../../shared/contracts/tokens.ts";
import { trustedIssuer } from "../../shared/db/schema.ts";
import { recordRevocation } from "../../shared/revocation/record-revocation.ts";
import { createTestOrg, registerTestClient, setOrgPolicy, clientToken } from "./clients-fixtures.ts";
import { arrivedRows } from "../audit/runtime/audit-rows.ts";
import { type DpopKey, dpopKey, dpopProof } from "../support/runtime/dpop-proof.ts";
import { AUDIENCE, expectOAuthError, tokenRequest, signWithOurKey } from "./fixtures.ts";
import { delegatedIdJag, ISSUER, jagClaims, redeem } from "./id-jag-fixtures.ts";
import {
  authorization,
  exchange,
  grantDelegation,
  issued,
  registerAgent,
  seedMember,
  userToken,
} from "./token-exchange-fixtures.ts";

/** Another resource authorization server an agent may be registered for. */
const PARTNER_AS = "https://as.partner.example";

/** An org, a person, an agent with the person's delegation, and an ID-JAG for our own API. */
async function idJagSetup() {
  const orgId = await createTestOrg();
  const userId = await seedMember(orgId);
  const agent = await registerAgent(orgId);
  await grantDelegation(orgId, userId, agent);
  const subject = await userToken(orgId, userId, { sessionId: `s-${crypto.randomUUID()}` });
  const body = await delegatedIdJag(agent, subject, { resource: AUDIENCE, scope: "documents:read" });
  return { orgId, userId, agent, body, idJag: body.access_token };
}

describe("metadata (RFC 8414) for ID-JAG in both directions", () => {
  it("advertises both grants, ID-JAG as the identity-chaining token type, and the ID-JAG grant profile", async () => {
    const response = await exports.default.fetch(`http://localhost${ENDPOINT.authorizationServerMetadata}`);
    const metadata = (await response.json()) as Record<string, unknown>;
    expect(metadata.grant_types_supported).toEqual(
      expect.arrayContaining([GRANT_TYPE.tokenExchange, GRANT_TYPE.jwtBearer]),
    );
    expect(metadata.identity_chaining_requested_token_types_supported).toEqual([TOKEN_TYPE.idJag]);
    expect(metadata.authorization_grant_profiles_supported).toEqual([ID_JAG_GRANT_PROFILE]);
  });
});

describe("ID-JAG issued by token exchange (Mono-Auth as the IdP)", () => {
  it("is an oauth-id-jag+jwt with the draft's claims, answered with issued_token_type id-jag and token_type N_A", async () => {
    const { orgId, userId, agent, body, idJag } = await idJagSetup();
    expect(body).toMatchObject({ issued_token_type: TOKEN_TYPE.idJag, token_type: "N_A", scope: "documents:read" });
    expect(body.refresh_token).toBeUndefined();
    expect(body.expires_in).toBeGreaterThan(0);
    expect(body.expires_in).toBeLessThanOrEqual(300);
    expect(decodeProtectedHeader(idJag)).toMatchObject({ alg: "ES256", typ: JWT_TYP.idJag });
    expect(typeof decodeProtectedHeader(idJag).kid).toBe("string");
    const claims = decodeJwt(idJag);
    expect(claims).toMatchObject({
      iss: ISSUER,
      sub: userId,
      aud: ISSUER,
      client_id: agent.clientId,
      resource: AUDIENCE,
      scope: "documents:read",
      tenant: orgId,
      act: { sub: agent.clientId, client_id: agent.clientId },
    });
    expect(typeof claims.jti).toBe("string");
    expect((claims.exp as number) - (claims.iat as number)).toBeLessThanOrEqual(300);
  });

  it("is audited as token.issued in the subject's org, naming the acting agent, never holding the grant", async () => {
    const { orgId, userId, agent, idJag } = await idJagSetup();
    const { jti } = decodeJwt(idJag);
    const [row] = await arrivedRows(
      "SELECT * FROM audit_event WHERE kind = 'token.issued' AND instr(detail, ?) > 0",
      jti as string,
    );
    expect(row).toMatchObject({ org_id: orgId, subject: userId, actor: agent.clientId, client_id: agent.clientId });
    expect(JSON.parse(row?.detail ?? "{}")).toMatchObject({
      grant_type: GRANT_TYPE.tokenExchange,
      issued_token_type: TOKEN_TYPE.idJag,
    });
    expect(row?.detail).not.toContain(idJag.split(".")[2]);
  });

  it("issues for another resource authorization server the client is registered for", async () => {
    const orgId = await createTestOrg();
    const agent = await registerAgent(orgId, { audiences: [AUDIENCE, PARTNER_AS] });
    const { body } = await issued(
      await exchange(agent, {
        subject_token: await clientToken(agent),
        subject_token_type: TOKEN_TYPE.accessToken,
        requested_token_type: TOKEN_TYPE.idJag,
        audience: PARTNER_AS,
      }),
    );
    expect(decodeJwt(body.access_token)).toMatchObject({
      aud: PARTNER_AS,
      sub: agent.clientId,
      client_id: agent.clientId,
    });
  });

  // RFC 6749 §3.3: spaces alone are a list of no scope-tokens, none asked, as for an exchanged access token.
  it("for another server, a scope of only spaces is no scope asked: the client's registered scopes, as with none", async () => {
    const orgId = await createTestOrg();
    const agent = await registerAgent(orgId, {
      audiences: [AUDIENCE, PARTNER_AS],
      scopes: ["documents:read", "partner:write"],
    });
    const base = {
      subject_token: await clientToken(agent),
      subject_token_type: TOKEN_TYPE.accessToken,
      requested_token_type: TOKEN_TYPE.idJag,
      audience: PARTNER_AS,
    };
    for (const scope of [" ", "   "]) {
      const { body } = await issued(await exchange(agent, { ...base, scope }));
      expect(body.scope).toBe("documents:read partner:write");
      expect(decodeJwt(body.access_token).scope).toBe("documents:read partner:write");
    }
    // The access-token path reads the same value the same way.
    const { body } = await issued(
      await exchange(agent, {
        ...base,
        requested_token_type: TOKEN_TYPE.accessToken,
        audience: AUDIENCE,
        scope: "   ",
      }),
    );
    expect(body.scope).toBe("documents:read");
  });

  it("invalid_request without audience (the draft §4.3: REQUIRED); invalid_target for a server the client is not registered for", async () => {
    const orgId = await createTestOrg();
    const agent = await registerAgent(orgId);
    const base = {
      subject_token: await clientToken(agent),
      subject_token_type: TOKEN_TYPE.accessToken,
      requested_token_type: TOKEN_TYPE.idJag,
    };
    await expectOAuthError(await exchange(agent, base), 400, "invalid_request");
    await expectOAuthError(await exchange(agent, { ...base, audience: PARTNER_AS }), 400, "invalid_target");
  });

  it("an ID-JAG is never an access token, and an access token never an ID-JAG (typ, RFC 8725 §3.11)", async () => {
    const { agent, idJag } = await idJagSetup();
    await expectOAuthError(
      await exchange(agent, { subject_token: idJag, subject_token_type: TOKEN_TYPE.accessToken }),
      400,
      "invalid_request",
    );
    await expectOAuthError(await redeem(agent, await clientToken(agent)), 400, "invalid_grant");
  });
});

describe("ID-JAG redeemed with the jwt-bearer grant (Mono-Auth as the resource authorization server)", () => {
  it("an ID-JAG of our own issuer: an access token for the client acting for the subject, no refresh token", async () => {
    const { orgId, userId, agent, idJag } = await idJagSetup();
    const { body, claims } = await issued(await redeem(agent, idJag));
    expect(body).toMatchObject({ token_type: "Bearer", scope: "documents:read" });
    expect(body.issued_token_type).toBeUndefined();
    expect(body.refresh_token).toBeUndefined();
    expect(claims).toMatchObject({
      iss: ISSUER,
      sub: userId,
      client_id: agent.clientId,
      org_id: orgId,
      aud: AUDIENCE,
      act: { sub: agent.clientId, client_id: agent.clientId },
    });
  });

  it("invalid_grant for a replayed jti", async () => {
    const { agent, idJag } = await idJagSetup();
    expect((await redeem(agent, idJag)).status).toBe(200);
    await expectOAuthError(await redeem(agent, idJag), 400, "invalid_grant");
  });

  it("invalid_grant when client_id is another client; the grant stays usable by its own client", async () => {
    const { orgId, agent, idJag } = await idJagSetup();
    const other = await registerAgent(orgId);
    await expectOAuthError(await redeem(other, idJag), 400, "invalid_grant");
    expect((await redeem(agent, idJag)).status).toBe(200);
  });

  it("invalid_grant for a wrong aud, several auds, a lifetime over 5 minutes, an expired grant, another org's tenant, a wrong typ", async () => {
    const orgId = await createTestOrg();
    const userId = await seedMember(orgId);
    const agent = await registerAgent(orgId);
    const now = Math.floor(Date.now() / 1000);
    const forged = [
      await signWithOurKey(
        JWT_TYP.idJag,
        jagClaims(orgId, userId, agent.clientId, { aud: "https://other-as.example" }),
      ),
      await signWithOurKey(
        JWT_TYP.idJag,
        jagClaims(orgId, userId, agent.clientId, { aud: [ISSUER, "https://other-as.example"] }),
      ),
      await signWithOurKey(JWT_TYP.idJag, jagClaims(orgId, userId, agent.clientId, { exp: now + 301 })),
      await signWithOurKey(JWT_TYP.idJag, jagClaims(orgId, userId, agent.clientId, { iat: now - 200, exp: now - 100 })),
      await signWithOurKey(JWT_TYP.idJag, jagClaims(orgId, userId, agent.clientId, { tenant: await createTestOrg() })),
      await signWithOurKey(JWT_TYP.accessToken, jagClaims(orgId, userId, agent.clientId)),
    ];
    for (const assertion of forged) await expectOAuthError(await redeem(agent, assertion), 400, "invalid_grant");
    // The same claims, well-formed, pass: each case above fails for its one defect.
    expect(
      (await redeem(agent, await signWithOurKey(JWT_TYP.idJag, jagClaims(orgId, userId, agent.clientId)))).status,
    ).toBe(200);
  });

  it("invalid_grant for an issuer the client's org does not trust", async () => {
    const orgId = await createTestOrg();
    const agent = await registerAgent(orgId);
    const { privateKey } = await generateKeyPair("ES256");
    const assertion = await new SignJWT(
      jagClaims(orgId, "user-at-idp", agent.clientId, { iss: "https://idp.untrusted.example" }),
    )
      .setProtectedHeader({ alg: "ES256", typ: JWT_TYP.idJag, kid: "k1" })
      .sign(privateKey);
    await expectOAuthError(await redeem(agent, assertion), 400, "invalid_grant");
  });

  it("invalid_grant once the subject is revoked in the org", async () => {
    const { orgId, userId, agent, idJag } = await idJagSetup();
    await recordRevocation(env, { orgId, kind: "subject", value: userId, reason: "test" });
    await expectOAuthError(await redeem(agent, idJag), 400, "invalid_grant");
  });

  it("unauthorized_client for a client not registered for jwt-bearer; invalid_request without an assertion", async () => {
    const { orgId, idJag } = await idJagSetup();
    const machine = await registerTestClient({ orgId, grantTypes: [GRANT_TYPE.clientCredentials] });
    await expectOAuthError(await redeem(machine, idJag), 400, "unauthorized_client");
    await expectOAuthError(
      await tokenRequest({ grant_type: GRANT_TYPE.jwtBearer }, { headers: authorization(machine) }),
      400,
      "invalid_request",
    );
  });
});

describe("ID-JAG from an external IdP the org trusts (trusted_issuer)", () => {
  afterEach(() => vi.restoreAllMocks());

  it("is redeemed against the issuer's JWKS; its sub must not read as a client id", async () => {
    const orgId = await createTestOrg();
    const agent = await registerAgent(orgId);
    const idp = "https://idp.partner.example";
    const jwksUri = `${idp}/jwks`;
    const { publicKey, privateKey } = await generateKeyPair("ES256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "partner-1", alg: "ES256", use: "sig" };
    await drizzle(env.DB)
      .insert(trustedIssuer)
      .values({ id: crypto.randomUUID(), orgId, issuer: idp, jwksUri, createdAt: new Date() });
    // The IdP is not ours: its JWKS endpoint is the one thing stood in for.
    const realFetch = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation((input, init) =>
      String(input instanceof Request ? input.url : input) === jwksUri
        ? Promise.resolve(Response.json({ keys: [jwk] }))
        : realFetch(input, init),
    );
    const sign = (claims: Record<string, unknown>) =>
      new SignJWT(claims).setProtectedHeader({ alg: "ES256", typ: JWT_TYP.idJag, kid: "partner-1" }).sign(privateKey);
    const external = jagClaims(orgId, "alice@partner", agent.clientId, { iss: idp, tenant: "acme" });
    const { claims } = await issued(await redeem(agent, await sign(external)));
    expect(claims).toMatchObject({ sub: "alice@partner", client_id: agent.clientId, org_id: orgId, aud: AUDIENCE });
    // RFC 7523 §3: the assertion's exp bounds its presentation, not the token it buys.
    expect(claims.exp as number).toBeGreaterThan(external.exp);
    expect(claims.act).toBeUndefined();
    await expectOAuthError(
      await redeem(agent, await sign(jagClaims(orgId, agent.clientId, agent.clientId, { iss: idp }))),
      400,
      "invalid_grant",
    );
  });
});

describe("ID-JAG from a trusted external IdP whose sub is no header value", () => {
  afterEach(() => vi.restoreAllMocks());

  // The sub becomes the access token's, and the gateway's X-User-ID (RFC 9110 §5.5): refused, never signed.
  it("invalid_grant for a sub with CR/LF, NUL, another control character or edge whitespace", async () => {
    const orgId = await createTestOrg();
    const agent = await registerAgent(orgId);
    const idp = `https://idp-${crypto.randomUUID()}.partner.example`;
    const jwksUri = `${idp}/jwks`;
    const { publicKey, privateKey } = await generateKeyPair("ES256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "partner-1", alg: "ES256", use: "sig" };
    await drizzle(env.DB)
      .insert(trustedIssuer)
      .values({ id: crypto.randomUUID(), orgId, issuer: idp, jwksUri, createdAt: new Date() });
    const realFetch = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation((input, init) =>
      String(input instanceof Request ? input.url : input) === jwksUri
        ? Promise.resolve(Response.json({ keys: [jwk] }))
        : realFetch(input, init),
    );
    const sign = (sub: string) =>
      new SignJWT(jagClaims(orgId, sub, agent.clientId, { iss: idp }))
        .setProtectedHeader({ alg: "ES256", typ: JWT_TYP.idJag, kid: "partner-1" })
        .sign(privateKey);
    for (const sub of [
      "alice\r\nX-User-ID: admin",
      "alice\nbob",
      "al\u0000ice",
      "al\u007fice",
      "al\tice",
      " alice",
      "alice ",
    ]) {
      const body = await expectOAuthError(await redeem(agent, await sign(sub)), 400, "invalid_grant");
      expect(body.error_description).toBe("assertion: sub invalid");
    }
    // The same IdP's grant with a usable sub is redeemed: only the sub was refused.
    const { claims } = await issued(await redeem(agent, await sign("alice@partner")));
    expect(claims).toMatchObject({ sub: "alice@partner", org_id: orgId });
  });

  it("invalid_grant for a grant of our own issuer whose act.sub is no header value (it would be X-Actor-ID)", async () => {
    const orgId = await createTestOrg();
    const agent = await registerAgent(orgId);
    for (const actor of ["agent\r\n", " agent"]) {
      const assertion = await signWithOurKey(
        JWT_TYP.idJag,
        jagClaims(orgId, `user-${crypto.randomUUID()}`, agent.clientId, { act: { sub: actor } }),
      );
      const body = await expectOAuthError(await redeem(agent, assertion), 400, "invalid_grant");
      expect(body.error_description).toBe("assertion: act invalid");
    }
  });
});

describe("ID-JAG bound to a DPoP key (the draft's §9.8)", () => {
  const htu = `${ISSUER}${ENDPOINT.token}`;

  /** RFC 9449 §8: the server's nonce, learnt from a first proof without one. */
  async function nonceFor(send: (dpop: string) => Promise<Response>, key: DpopKey): Promise<string> {
    const response = await send(await dpopProof(key, { htm: "POST", htu }));
    await expectOAuthError(response.clone(), 400, "use_dpop_nonce");
    return response.headers.get(DPOP_HEADER.nonce) as string;
  }

  it("carries cnf.jkt of the key the request proved, and is redeemed only with a proof of that key", async () => {
    const orgId = await createTestOrg();
    const agent = await registerAgent(orgId);
    const key = await dpopKey();
    const params = {
      grant_type: GRANT_TYPE.tokenExchange,
      subject_token: await clientToken(agent),
      subject_token_type: TOKEN_TYPE.accessToken,
      requested_token_type: TOKEN_TYPE.idJag,
      audience: ISSUER,
    };
    const send = (dpop: string) => tokenRequest(params, { headers: { ...authorization(agent), DPoP: dpop } });
    const nonce = await nonceFor(send, key);
    const { body } = await issued(await send(await dpopProof(key, { htm: "POST", htu, nonce })));
    expect(body.token_type).toBe("N_A");
    expect(decodeJwt(body.access_token).cnf).toEqual({ jkt: key.jkt });

    // Without a proof, or with another key's: invalid_grant, and the grant is not spent.
    await expectOAuthError(await redeem(agent, body.access_token), 400, "invalid_grant");
    const other = await dpopKey();
    const withProof = (proofKey: DpopKey) => async () =>
      tokenRequest(
        { grant_type: GRANT_TYPE.jwtBearer, assertion: body.access_token },
        { headers: { ...authorization(agent), DPoP: await dpopProof(proofKey, { htm: "POST", htu, nonce }) } },
      );
    await expectOAuthError(await withProof(other)(), 400, "invalid_grant");
    const { body: redeemed, claims } = await issued(await withProof(key)());
    expect(redeemed.token_type).toBe("DPoP");
    expect(claims.cnf).toEqual({ jkt: key.jkt });
  });
});

describe("ID-JAG jti single use under concurrency", () => {
  it("1000 concurrent redemptions of one ID-JAG: exactly one access token, every other answer invalid_grant", async () => {
    const { orgId, agent, idJag } = await idJagSetup();
    // The client's mint budget is not what this measures.
    await setOrgPolicy(orgId, { mintsPerMinutePerClient: 100_000 });
    const responses = await Promise.all(Array.from({ length: 1000 }, () => redeem(agent, idJag)));
    const bodies = await Promise.all(responses.map((r) => r.json() as Promise<{ error?: string }>));
    expect(responses.filter((r) => r.status === 200)).toHaveLength(1);
    const refused = responses.map((r, i) => [r.status, bodies[i]?.error]).filter(([status]) => status !== 200);
    expect(refused).toHaveLength(999);
    expect(refused.every(([status, error]) => status === 400 && error === "invalid_grant")).toBe(true);
  }, 120_000);
});
