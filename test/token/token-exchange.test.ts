import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { GRANT_TYPE, TOKEN_TYPE } from "../../shared/contracts/tokens.ts";
import { oauthClient } from "../../shared/db/schema.ts";
import { listDelegationGrants, revokeDelegationGrant } from "../../workers/token/src/grants/delegation-grants.ts";
import { createTestOrg, registerTestClient, setOrgPolicy, clientToken } from "./clients-fixtures.ts";
import { AUDIENCE, expectOAuthError, tokenRequest } from "./fixtures.ts";
import {
  claims,
  delegationParams,
  exchange,
  grantDelegation,
  issued,
  OTHER_AUDIENCE,
  orgWithAgent,
  registerAgent,
  seedMember,
  userToken,
} from "./token-exchange-fixtures.ts";

describe("token exchange without an actor token (RFC 8693 §2.1)", () => {
  it("narrows a token issued to the client itself: same subject, no act, issued_token_type access_token", async () => {
    const { agent } = await orgWithAgent();
    const own = await clientToken(agent);
    const { body, claims: out } = await issued(
      await exchange(agent, {
        subject_token: own,
        subject_token_type: TOKEN_TYPE.accessToken,
        scope: "documents:read",
      }),
    );
    expect(body).toMatchObject({
      issued_token_type: TOKEN_TYPE.accessToken,
      token_type: "Bearer",
      scope: "documents:read",
    });
    expect(body.refresh_token).toBeUndefined();
    expect(out).toMatchObject({ sub: agent.clientId, client_id: agent.clientId, aud: AUDIENCE, org_id: agent.orgId });
    expect(out.act).toBeUndefined();
  });

  it("invalid_request for a person's token the client was merely handed: delegation needs an actor_token", async () => {
    const { orgId, userId, agent } = await orgWithAgent();
    await grantDelegation(orgId, userId, agent);
    const response = await exchange(agent, {
      subject_token: await userToken(orgId, userId),
      subject_token_type: TOKEN_TYPE.accessToken,
    });
    await expectOAuthError(response, 400, "invalid_request");
  });
});

describe("delegation: an actor token and a live delegation grant", () => {
  it("mints for the subject with act naming the agent, keeping the session and roles, never outliving the subject token", async () => {
    const { orgId, userId, agent } = await orgWithAgent();
    await grantDelegation(orgId, userId, agent);
    const subject = await userToken(orgId, userId, { sessionId: "s-1", roles: ["admin"], ttlSeconds: 120 });
    const { body, claims: out } = await issued(
      await exchange(agent, delegationParams(subject, await clientToken(agent))),
    );
    expect(body).toMatchObject({
      issued_token_type: TOKEN_TYPE.accessToken,
      token_type: "Bearer",
      scope: "documents:read",
    });
    expect(out).toMatchObject({
      sub: userId,
      client_id: agent.clientId,
      org_id: orgId,
      aud: AUDIENCE,
      sid: "s-1",
      roles: ["admin"],
      act: { sub: agent.clientId, client_id: agent.clientId },
    });
    expect((out.act as Record<string, unknown>).act).toBeUndefined();
    expect(out.exp as number).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 120);
  });

  it("invalid_request without a grant, with an expired, revoked or another agent's grant, or one for another audience", async () => {
    const { orgId, userId, agent } = await orgWithAgent();
    const other = await registerAgent(orgId);
    const subject = await userToken(orgId, userId);
    const actor = await clientToken(agent);
    const attempt = () => exchange(agent, delegationParams(subject, actor));
    await expectOAuthError(await attempt(), 400, "invalid_request");

    await grantDelegation(orgId, userId, agent, { expiresAt: new Date(Date.now() - 1000) });
    await grantDelegation(orgId, userId, other);
    await grantDelegation(orgId, userId, agent, { audiences: [OTHER_AUDIENCE] });
    await grantDelegation(orgId, userId, agent, { scopes: ["other:scope"] });
    const revoked = await grantDelegation(orgId, userId, agent);
    await revokeDelegationGrant(env.DB, orgId, revoked.id);
    await expectOAuthError(await attempt(), 400, "invalid_request");

    await grantDelegation(orgId, userId, agent);
    expect((await attempt()).status).toBe(200);
  });

  it("a delegated token never outlives the grant it rests on", async () => {
    const { orgId, userId, agent } = await orgWithAgent();
    const expiresAt = new Date(Date.now() + 60_000);
    await grantDelegation(orgId, userId, agent, { expiresAt });
    const { claims: out } = await issued(
      await exchange(agent, delegationParams(await userToken(orgId, userId), await clientToken(agent))),
    );
    expect(out.exp as number).toBeLessThanOrEqual(Math.floor(expiresAt.getTime() / 1000));
  });

  it("invalid_request when the actor token is another client's, is itself delegated, or belongs to another org", async () => {
    const { orgId, userId, agent } = await orgWithAgent();
    const other = await registerAgent(orgId);
    await grantDelegation(orgId, userId, agent);
    const subject = await userToken(orgId, userId);
    // Another client's own token presented as this client's identity.
    await expectOAuthError(
      await exchange(agent, delegationParams(subject, await clientToken(other))),
      400,
      "invalid_request",
    );
    // A delegated token is not the client acting as itself.
    const delegated = (await issued(await exchange(agent, delegationParams(subject, await clientToken(agent))))).body
      .access_token;
    await expectOAuthError(await exchange(agent, delegationParams(subject, delegated)), 400, "invalid_request");
    // A subject token of another org.
    const elsewhere = await createTestOrg();
    const stranger = await seedMember(elsewhere);
    await expectOAuthError(
      await exchange(agent, delegationParams(await userToken(elsewhere, stranger), await clientToken(agent))),
      400,
      "invalid_request",
    );
  });

  it("invalid_request: actor_token without actor_token_type and the reverse (§2.1), an unknown actor_token_type", async () => {
    const { orgId, userId, agent } = await orgWithAgent();
    const subject = await userToken(orgId, userId);
    const actor = await clientToken(agent);
    const base = { subject_token: subject, subject_token_type: TOKEN_TYPE.accessToken };
    await expectOAuthError(await exchange(agent, { ...base, actor_token: actor }), 400, "invalid_request");
    await expectOAuthError(
      await exchange(agent, { ...base, actor_token_type: TOKEN_TYPE.accessToken }),
      400,
      "invalid_request",
    );
    await expectOAuthError(
      await exchange(agent, { ...base, actor_token: actor, actor_token_type: TOKEN_TYPE.jwt }),
      400,
      "invalid_request",
    );
  });
});

describe("act chains (RFC 8693 §4.1) and the org's delegation depth", () => {
  /** User → agent A → agent B, each with the user's grant. */
  async function chain() {
    const { orgId, userId, agent: a } = await orgWithAgent();
    const b = await registerAgent(orgId);
    await grantDelegation(orgId, userId, a);
    await grantDelegation(orgId, userId, b);
    const first = (
      await issued(await exchange(a, delegationParams(await userToken(orgId, userId), await clientToken(a))))
    ).body.access_token;
    return { orgId, userId, a, b, first };
  }

  it("nests the chain: the outermost act is the current actor, the earlier ones inside", async () => {
    const { userId, a, b, first } = await chain();
    const { claims: out } = await issued(await exchange(b, delegationParams(first, await clientToken(b))));
    expect(out).toMatchObject({
      sub: userId,
      client_id: b.clientId,
      act: { sub: b.clientId, client_id: b.clientId, act: { sub: a.clientId, client_id: a.clientId } },
    });
  });

  it("invalid_request for a chain longer than the org's max_delegation_depth", async () => {
    const { orgId, b, first } = await chain();
    await setOrgPolicy(orgId, { maxDelegationDepth: 1 });
    await expectOAuthError(await exchange(b, delegationParams(first, await clientToken(b))), 400, "invalid_request");
  });

  it("the current actor may narrow its own delegated token without a new actor token, under the same grant", async () => {
    const { orgId, userId, a, first } = await chain();
    const { claims: out } = await issued(
      await exchange(a, { subject_token: first, subject_token_type: TOKEN_TYPE.accessToken }),
    );
    expect(out).toMatchObject({ sub: userId, client_id: a.clientId, act: { sub: a.clientId } });
    // …and not once the grant behind it is gone.
    for (const grant of await listDelegationGrants(env.DB, orgId, { actorClientId: a.clientId }, { limit: 10 })) {
      await revokeDelegationGrant(env.DB, orgId, grant.id);
    }
    await expectOAuthError(
      await exchange(a, { subject_token: first, subject_token_type: TOKEN_TYPE.accessToken }),
      400,
      "invalid_request",
    );
  });
});

describe("audience and scope: what was asked ∩ what the subject holds ∩ what the client may have ∩ org policy", () => {
  it("issues for another audience the subject token holds and the client may have", async () => {
    const { orgId, userId, agent } = await orgWithAgent();
    await grantDelegation(orgId, userId, agent, { audiences: [AUDIENCE, OTHER_AUDIENCE] });
    const subject = await userToken(orgId, userId, { audience: [AUDIENCE, OTHER_AUDIENCE] });
    const { claims: out } = await issued(
      await exchange(agent, delegationParams(subject, await clientToken(agent), { resource: OTHER_AUDIENCE })),
    );
    expect(out.aud).toBe(OTHER_AUDIENCE);
  });

  it("invalid_target: an audience the subject token does not hold, the client may not have, the org does not allow, we do not serve, or two different targets", async () => {
    const { orgId, userId, agent } = await orgWithAgent();
    await grantDelegation(orgId, userId, agent, { audiences: [AUDIENCE, OTHER_AUDIENCE] });
    const actor = await clientToken(agent);
    const narrow = await userToken(orgId, userId);
    const wide = await userToken(orgId, userId, { audience: [AUDIENCE, OTHER_AUDIENCE] });
    const cases: [string, Record<string, string>][] = [
      [narrow, { audience: OTHER_AUDIENCE }],
      [wide, { audience: "https://elsewhere.example/api" }],
      [wide, { audience: AUDIENCE, resource: OTHER_AUDIENCE }],
      // Several audiences held and none named: the client must name one.
      [wide, {}],
    ];
    for (const [subject, target] of cases) {
      await expectOAuthError(await exchange(agent, delegationParams(subject, actor, target)), 400, "invalid_target");
    }
    const limited = await registerAgent(orgId, { audiences: [AUDIENCE] });
    await grantDelegation(orgId, userId, limited, { audiences: [AUDIENCE, OTHER_AUDIENCE] });
    await expectOAuthError(
      await exchange(limited, delegationParams(wide, await clientToken(limited), { audience: OTHER_AUDIENCE })),
      400,
      "invalid_target",
    );
    await setOrgPolicy(orgId, { allowedAudiences: OTHER_AUDIENCE });
    await expectOAuthError(
      await exchange(agent, delegationParams(narrow, actor, { audience: AUDIENCE })),
      400,
      "invalid_target",
    );
  });

  it("narrows the scope to what every party holds, and says so in the response", async () => {
    const { orgId, userId, agent } = await orgWithAgent();
    await grantDelegation(orgId, userId, agent);
    const subject = await userToken(orgId, userId, { scope: "documents:read reports:write" });
    const { body, claims: out } = await issued(
      await exchange(agent, delegationParams(subject, await clientToken(agent))),
    );
    expect(body.scope).toBe("documents:read");
    expect(out.scope).toBe("documents:read");
  });

  it("invalid_scope: an unknown scope, none held by the subject, none the client may have, none under the org's ceiling", async () => {
    const { orgId, userId, agent } = await orgWithAgent();
    await grantDelegation(orgId, userId, agent);
    const actor = await clientToken(agent);
    const subject = await userToken(orgId, userId);
    await expectOAuthError(
      await exchange(agent, delegationParams(subject, actor, { scope: "documents:read documents:delete" })),
      400,
      "invalid_scope",
    );
    const empty = await userToken(orgId, userId, { scope: "" });
    await expectOAuthError(await exchange(agent, delegationParams(empty, actor)), 400, "invalid_scope");

    const scopeless = await registerAgent(orgId);
    await grantDelegation(orgId, userId, scopeless);
    const scopelessActor = await clientToken(scopeless);
    await drizzle(env.DB).update(oauthClient).set({ scopes: "" }).where(eq(oauthClient.clientId, scopeless.clientId));
    await expectOAuthError(await exchange(scopeless, delegationParams(subject, scopelessActor)), 400, "invalid_scope");

    await setOrgPolicy(orgId, { scopeCeiling: "reports:read" });
    await expectOAuthError(await exchange(agent, delegationParams(subject, actor)), 400, "invalid_scope");
  });
});

describe("who may exchange (RFC 6749 §5.2 unauthorized_client) and what may be asked", () => {
  it("unauthorized_client for the public first-party client and for a client not registered for token exchange", async () => {
    const { orgId, userId } = await orgWithAgent();
    const subject = await userToken(orgId, userId);
    const params = { subject_token: subject, subject_token_type: TOKEN_TYPE.accessToken };
    await expectOAuthError(
      await tokenRequest({ grant_type: GRANT_TYPE.tokenExchange, ...params }),
      400,
      "unauthorized_client",
    );
    const machine = await registerTestClient({ orgId });
    await expectOAuthError(await exchange(machine, params), 400, "unauthorized_client");
  });

  it("invalid_request for a requested_token_type not issued here", async () => {
    const { orgId, userId, agent } = await orgWithAgent();
    await grantDelegation(orgId, userId, agent);
    const response = await exchange(
      agent,
      delegationParams(await userToken(orgId, userId), await clientToken(agent), {
        requested_token_type: TOKEN_TYPE.jwt,
      }),
    );
    await expectOAuthError(response, 400, "invalid_request");
  });
});
