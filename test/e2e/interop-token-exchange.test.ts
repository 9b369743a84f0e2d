// Token exchange with an actor, and ID-JAG issue and redemption, over HTTP
// against the whole system, by a client we did not write: oauth4webapi,
// unmodified (its generic token-endpoint request, and its documented
// `recognizedTokenTypes` hook for RFC 8693's `N_A`). A person signs up at
// the edge; an agent registered through the admin API acts for them under
// a delegation grant, then carries the delegation across an ID-JAG.
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT } from "jose";
import * as oauth from "oauth4webapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { TRUSTED_HEADER } from "../../shared/contracts/headers.ts";
import { GRANT_TYPE, ID_JAG_GRANT_PROFILE, JWT_TYP, TOKEN_TYPE } from "../../shared/contracts/tokens.ts";
import { BrowserLikeClient } from "../support/browser-like-client.ts";
import {
  INSECURE,
  type InteropOperator,
  interopOperator,
  type JwksServer,
  startJwksServer,
} from "../support/interop.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

let system: RunningSystem;
let as: oauth.AuthorizationServer;
let api: string;
let admin: InteropOperator["admin"];
let person: { userId: string; orgId: string };
let personToken: string;
let agent: { client: oauth.Client; auth: oauth.ClientAuth };
/** An external IdP's JWKS, served on the loopback interface. */
let idp: JwksServer;

/** A token-endpoint request of any grant, as oauth4webapi makes it. */
async function grant(
  grantType: string,
  parameters: Record<string, string>,
  options: oauth.ProcessTokenResponseOptions = {},
) {
  const response = await oauth.genericTokenEndpointRequest(
    as,
    agent.client,
    agent.auth,
    grantType,
    parameters,
    INSECURE,
  );
  return oauth.processGenericTokenEndpointResponse(as, agent.client, response, options);
}

/** The agent's own token: the actor token. */
async function actorToken(): Promise<string> {
  const response = await oauth.clientCredentialsGrantRequest(as, agent.client, agent.auth, { resource: api }, INSECURE);
  return (await oauth.processClientCredentialsResponse(as, agent.client, response)).access_token;
}

/** RFC 8693 §2.2.1 `N_A`: oauth4webapi hands token types it does not know to this hook. */
const ACCEPT_N_A: oauth.ProcessTokenResponseOptions = { recognizedTokenTypes: { n_a: () => undefined } };

async function expectOAuthError(attempt: Promise<unknown>, error: string) {
  const failure = await attempt.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(failure).toBeInstanceOf(oauth.ResponseBodyError);
  expect((failure as oauth.ResponseBodyError).error).toBe(error);
}

beforeAll(async () => {
  system = await startSystem();
  api = `${system.origin}/api`;
  const operator = await interopOperator(system);
  ({ as, admin } = operator);

  // A person signs up at the edge and gets a token for the API, as the /app page does.
  const browser = new BrowserLikeClient(system);
  person = await browser.signUp(`ada-${crypto.randomUUID()}@example.com`);
  const exchanged = await browser.exchangeSessionForToken();
  expect(exchanged.status).toBe(200);
  personToken = ((await exchanged.json()) as { access_token: string }).access_token;

  // An agent of the person's org, registered by the operator, and the person's delegation to it.
  const registered = await operator.registerClient(person.orgId, {
    client_name: "assistant",
    client_type: "agent",
    grant_types: [GRANT_TYPE.clientCredentials, GRANT_TYPE.tokenExchange, GRANT_TYPE.jwtBearer],
  });
  agent = {
    client: { client_id: registered.client_id },
    auth: oauth.ClientSecretBasic(registered.client_secret as string),
  };
  const delegation = await admin("POST", `/orgs/${person.orgId}/delegation-grants`, {
    subject: person.userId,
    actor_client_id: registered.client_id,
    scopes: ["documents:read"],
    audiences: [api],
  });
  expect(delegation.status).toBe(201);

  idp = await startJwksServer();
});

afterAll(async () => {
  await idp?.close();
  await system?.close();
});

describe("discovery", () => {
  it("advertises token exchange, jwt-bearer, ID-JAG as the identity-chaining type and the ID-JAG grant profile", () => {
    expect(as.grant_types_supported).toEqual(expect.arrayContaining([GRANT_TYPE.tokenExchange, GRANT_TYPE.jwtBearer]));
    expect(as.identity_chaining_requested_token_types_supported).toEqual([TOKEN_TYPE.idJag]);
    expect(as.authorization_grant_profiles_supported).toEqual([ID_JAG_GRANT_PROFILE]);
  });
});

describe("oauth4webapi: token exchange with an actor (RFC 8693)", () => {
  it("gets a token for the person with act naming the agent; it validates as RFC 9068 and the gateway passes the actor on", async () => {
    const result = await grant(GRANT_TYPE.tokenExchange, {
      subject_token: personToken,
      subject_token_type: TOKEN_TYPE.accessToken,
      actor_token: await actorToken(),
      actor_token_type: TOKEN_TYPE.accessToken,
      audience: api,
    });
    expect(result.token_type).toBe("bearer");
    expect(result.issued_token_type).toBe(TOKEN_TYPE.accessToken);
    const request = new Request(`${system.origin}${ENDPOINT.demoEcho}`, {
      headers: { Authorization: `Bearer ${result.access_token}` },
    });
    const claims = await oauth.validateJwtAccessToken(as, request, api, INSECURE);
    expect(claims).toMatchObject({
      sub: person.userId,
      client_id: agent.client.client_id,
      org_id: person.orgId,
      act: { sub: agent.client.client_id, client_id: agent.client.client_id },
    });
    const echoed = await system.fetch(ENDPOINT.demoEcho, {
      headers: { Authorization: `Bearer ${result.access_token}` },
    });
    expect(echoed.status).toBe(200);
    const headers = new Map(((await echoed.json()) as { headers: [string, string][] }).headers);
    expect(headers.get(TRUSTED_HEADER.userId.toLowerCase())).toBe(person.userId);
    expect(headers.get(TRUSTED_HEADER.actorId.toLowerCase())).toBe(agent.client.client_id);
  });

  it("gets invalid_request (RFC 8693 §2.2.2) it can parse without an actor token (a token it was merely handed)", async () => {
    await expectOAuthError(
      grant(GRANT_TYPE.tokenExchange, { subject_token: personToken, subject_token_type: TOKEN_TYPE.accessToken }),
      "invalid_request",
    );
  });
});

describe("oauth4webapi: ID-JAG issued, then redeemed with jwt-bearer", () => {
  async function issueIdJag(): Promise<string> {
    const result = await grant(
      GRANT_TYPE.tokenExchange,
      {
        subject_token: personToken,
        subject_token_type: TOKEN_TYPE.accessToken,
        actor_token: await actorToken(),
        actor_token_type: TOKEN_TYPE.accessToken,
        requested_token_type: TOKEN_TYPE.idJag,
        audience: system.origin,
        resource: api,
        scope: "documents:read",
      },
      ACCEPT_N_A,
    );
    expect(result.token_type).toBe("n_a");
    expect(result.issued_token_type).toBe(TOKEN_TYPE.idJag);
    expect(result.refresh_token).toBeUndefined();
    return result.access_token;
  }

  it("issues an oauth-id-jag+jwt for this issuer and redeems it once for an access token acting for the person", async () => {
    const idJag = await issueIdJag();
    expect(decodeProtectedHeader(idJag).typ).toBe(JWT_TYP.idJag);
    expect(decodeJwt(idJag)).toMatchObject({
      iss: system.origin,
      aud: system.origin,
      sub: person.userId,
      client_id: agent.client.client_id,
      resource: api,
      tenant: person.orgId,
    });
    const redeemed = await grant(GRANT_TYPE.jwtBearer, { assertion: idJag });
    expect(redeemed.token_type).toBe("bearer");
    expect(redeemed.refresh_token).toBeUndefined();
    const request = new Request(`${system.origin}${ENDPOINT.documents}`, {
      headers: { Authorization: `Bearer ${redeemed.access_token}` },
    });
    expect(await oauth.validateJwtAccessToken(as, request, api, INSECURE)).toMatchObject({
      sub: person.userId,
      client_id: agent.client.client_id,
      act: { sub: agent.client.client_id },
    });
    await expectOAuthError(grant(GRANT_TYPE.jwtBearer, { assertion: idJag }), "invalid_grant");
  });

  it("redeems an ID-JAG of an external IdP the org trusts, its keys fetched from the IdP's jwks_uri", async () => {
    const { publicKey, privateKey } = await generateKeyPair("RS256");
    idp.serve({ keys: [{ ...(await exportJWK(publicKey)), kid: "idp-1", alg: "RS256", use: "sig" }] });
    const trusted = await admin("POST", `/orgs/${person.orgId}/trusted-issuers`, {
      issuer: idp.origin,
      jwks_uri: `${idp.origin}/jwks.json`,
    });
    expect(trusted.status).toBe(201);
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({
      iss: idp.origin,
      sub: "ada@idp.example",
      aud: system.origin,
      client_id: agent.client.client_id,
      jti: crypto.randomUUID(),
      iat: now,
      exp: now + 120,
      resource: api,
      scope: "documents:read",
    })
      .setProtectedHeader({ alg: "RS256", typ: JWT_TYP.idJag, kid: "idp-1" })
      .sign(privateKey);
    const redeemed = await grant(GRANT_TYPE.jwtBearer, { assertion });
    expect(decodeJwt(redeemed.access_token)).toMatchObject({
      sub: "ada@idp.example",
      client_id: agent.client.client_id,
      org_id: person.orgId,
      aud: api,
    });
  });
});
