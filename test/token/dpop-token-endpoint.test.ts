import { env, exports } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { DPOP_HEADER } from "../../shared/contracts/headers.ts";
import { DPOP_SIGNING_ALGS, GRANT_TYPE, TOKEN_TYPE } from "../../shared/contracts/tokens.ts";
import { OAuthError } from "../../shared/errors/oauth.ts";
import type { AuthenticatedClient } from "../../workers/token/src/clients/types.ts";
import { tokenConfig } from "../../workers/token/src/config.ts";
import { currentDpopNonce, DPOP_NONCE_WINDOW_SECONDS } from "../../workers/token/src/dpop/nonce.ts";
import { dpopBindingFor, dpopNonceHeader } from "../../workers/token/src/dpop/token-request-binding.ts";
import { dpopKey, dpopProof, type DpopKey } from "../support/runtime/dpop-proof.ts";
import {
  basicAuthorization,
  createTestOrg,
  registerTestClient,
  setOrgPolicy,
  type TestClient,
  clientToken,
  mintedToken,
} from "./clients-fixtures.ts";
import { tokenRequest } from "./fixtures.ts";
import {
  authorization,
  delegationParams,
  grantDelegation,
  issued,
  registerAgent,
  seedMember,
  userToken,
} from "./token-exchange-fixtures.ts";

/** What a client signs: the token endpoint as the metadata advertises it. */
const HTU = `${env.ISSUER}${ENDPOINT.token}`;

interface TokenBody {
  access_token: string;
  token_type: string;
}

interface ErrorBody {
  error: string;
  error_description: string;
}

function clientCredentials(client: TestClient, headers: Record<string, string> = {}): Promise<Response> {
  return tokenRequest(
    { grant_type: GRANT_TYPE.clientCredentials },
    { headers: { Authorization: basicAuthorization(client.clientId, client.secret), ...headers } },
  );
}

async function expectRefusal(response: Response, error: string, code?: string): Promise<ErrorBody> {
  expect(response.status).toBe(400);
  expect(response.headers.get("Cache-Control")).toBe("no-store");
  const body = (await response.json()) as ErrorBody;
  expect(body.error).toBe(error);
  if (code) expect(body.error_description.startsWith(`${code}:`)).toBe(true);
  return body;
}

/** RFC 9449 §8: a first proof without a nonce is answered `use_dpop_nonce` with the nonce to use. */
async function learnNonce(client: TestClient, key: DpopKey): Promise<string> {
  const response = await clientCredentials(client, { DPoP: await dpopProof(key, { htm: "POST", htu: HTU }) });
  await expectRefusal(response, "use_dpop_nonce", "ERR_DPOP_NONCE");
  const nonce = response.headers.get(DPOP_HEADER.nonce);
  expect(nonce).toBeTruthy();
  return nonce as string;
}

function secondsFromNow(seconds: number): number {
  return Math.floor(Date.now() / 1000) + seconds;
}

async function requireDpop(client: TestClient): Promise<void> {
  await env.DB.prepare("UPDATE oauth_client SET require_dpop = 1 WHERE client_id = ?").bind(client.clientId).run();
}

describe("DPoP at the token endpoint (RFC 9449 §5, §8)", () => {
  it("binds the token to the proof's key: cnf.jkt and token_type DPoP, after the nonce round trip", async () => {
    const client = await registerTestClient();
    const key = await dpopKey();
    const nonce = await learnNonce(client, key);
    const response = await clientCredentials(client, {
      DPoP: await dpopProof(key, { htm: "POST", htu: HTU, nonce }),
    });
    expect(response.status).toBe(200);
    // §8: every answer to a DPoP request names the nonce to use next.
    expect(response.headers.get(DPOP_HEADER.nonce)).toBe(nonce);
    const body = (await response.json()) as TokenBody;
    expect(body.token_type).toBe("DPoP");
    expect(decodeJwt(body.access_token).cnf).toEqual({ jkt: key.jkt });
  });

  it("without a proof, a bearer token with no cnf and no nonce header", async () => {
    const response = await clientCredentials(await registerTestClient());
    expect(response.status).toBe(200);
    expect(response.headers.get(DPOP_HEADER.nonce)).toBeNull();
    const body = (await response.json()) as TokenBody;
    expect(body.token_type).toBe("Bearer");
    expect(decodeJwt(body.access_token).cnf).toBeUndefined();
  });

  it("a proof is used once: its replay is invalid_dpop_proof (ERR_DPOP_REPLAY)", async () => {
    const client = await registerTestClient();
    const key = await dpopKey();
    const proof = await dpopProof(key, { htm: "POST", htu: HTU, nonce: await learnNonce(client, key) });
    expect((await clientCredentials(client, { DPoP: proof })).status).toBe(200);
    await expectRefusal(await clientCredentials(client, { DPoP: proof }), "invalid_dpop_proof", "ERR_DPOP_REPLAY");
  });

  it("1000 concurrent token requests replaying one proof: exactly one succeeds", { timeout: 180_000 }, async () => {
    const client = await registerTestClient();
    const key = await dpopKey();
    const proof = await dpopProof(key, { htm: "POST", htu: HTU, nonce: await learnNonce(client, key) });
    const responses = await Promise.all(Array.from({ length: 1000 }, () => clientCredentials(client, { DPoP: proof })));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 400)).toHaveLength(999);
    const bodies = await Promise.all(
      responses.filter((r) => r.status === 400).map((r) => r.json() as Promise<ErrorBody>),
    );
    expect(new Set(bodies.map((b) => b.error))).toEqual(new Set(["invalid_dpop_proof"]));
    expect(bodies.every((b) => b.error_description.startsWith("ERR_DPOP_REPLAY:"))).toBe(true);
  });

  it("a client registered with require_dpop gets no token without a proof (ERR_DPOP_MISSING), and the nonce to use", async () => {
    const client = await registerTestClient();
    await requireDpop(client);
    const response = await clientCredentials(client);
    await expectRefusal(response, "invalid_dpop_proof", "ERR_DPOP_MISSING");
    const nonce = response.headers.get(DPOP_HEADER.nonce);
    expect(nonce).toBeTruthy();
    const key = await dpopKey();
    const bound = await clientCredentials(client, {
      DPoP: await dpopProof(key, { htm: "POST", htu: HTU, nonce: nonce as string }),
    });
    expect(bound.status).toBe(200);
    expect(((await bound.json()) as TokenBody).token_type).toBe("DPoP");
  });

  it("an org that requires DPoP for agents: its agents need a proof, its machines do not", async () => {
    const agent = await registerTestClient({ kind: "agent" });
    const machine = await registerTestClient({ kind: "machine", orgId: agent.orgId });
    await setOrgPolicy(agent.orgId as string, { requireDpopForAgents: true });
    await expectRefusal(await clientCredentials(agent), "invalid_dpop_proof", "ERR_DPOP_MISSING");
    const response = await clientCredentials(machine);
    expect(response.status).toBe(200);
    expect(((await response.json()) as TokenBody).token_type).toBe("Bearer");
    // Another org's agents are not bound by this org's policy.
    expect((await clientCredentials(await registerTestClient({ kind: "agent" }))).status).toBe(200);
  });

  it("refuses proofs that fail a check, each with invalid_dpop_proof and its code", async () => {
    const client = await registerTestClient();
    const key = await dpopKey();
    const nonce = await learnNonce(client, key);
    const cases: [Record<string, string>, string][] = [
      // The request's own URL is not the advertised endpoint (§4.3 step 9).
      [
        { DPoP: await dpopProof(key, { htm: "POST", htu: `http://localhost${ENDPOINT.token}`, nonce }) },
        "ERR_DPOP_HTU",
      ],
      [{ DPoP: await dpopProof(key, { htm: "GET", htu: HTU, nonce }) }, "ERR_DPOP_HTM"],
      [
        { DPoP: await dpopProof(key, { htm: "POST", htu: HTU, nonce, iat: Math.floor(Date.now() / 1000) - 120 }) },
        "ERR_DPOP_IAT",
      ],
      [{ DPoP: await dpopProof(key, { htm: "POST", htu: HTU, nonce, header: { typ: "JWT" } }) }, "ERR_DPOP_TYP"],
      [{ DPoP: "garbage" }, "ERR_DPOP_MALFORMED"],
      // RFC 7519 §4.1.4/§4.1.5: past its exp, or before its nbf, a JWT is not accepted.
      [
        { DPoP: await dpopProof(key, { htm: "POST", htu: HTU, nonce, claims: { exp: secondsFromNow(-60) } }) },
        "ERR_DPOP_EXP",
      ],
      [
        { DPoP: await dpopProof(key, { htm: "POST", htu: HTU, nonce, claims: { nbf: secondsFromNow(60) } }) },
        "ERR_DPOP_NBF",
      ],
      // RFC 7517 §4.2/§4.3: a key declared for something else than verifying signatures.
      [
        {
          DPoP: await dpopProof(key, {
            htm: "POST",
            htu: HTU,
            nonce,
            header: { jwk: { ...key.publicJwk, key_ops: ["sign"] } },
          }),
        },
        "ERR_DPOP_JWK",
      ],
      [
        {
          DPoP: await dpopProof(key, {
            htm: "POST",
            htu: HTU,
            nonce,
            header: { jwk: { ...key.publicJwk, use: "enc" } },
          }),
        },
        "ERR_DPOP_JWK",
      ],
    ];
    for (const [headers, code] of cases) {
      const response = await clientCredentials(client, headers);
      await expectRefusal(response, "invalid_dpop_proof", code);
      expect(response.headers.get(DPOP_HEADER.nonce)).toBeTruthy();
    }
    const twice = new Headers({ Authorization: basicAuthorization(client.clientId, client.secret) });
    twice.append("DPoP", await dpopProof(key, { htm: "POST", htu: HTU, nonce }));
    twice.append("DPoP", await dpopProof(key, { htm: "POST", htu: HTU, nonce }));
    const response = await exports.default.fetch(
      new Request(`http://localhost${ENDPOINT.token}`, {
        method: "POST",
        headers: twice,
        body: new URLSearchParams({ grant_type: GRANT_TYPE.clientCredentials }),
      }),
    );
    await expectRefusal(response, "invalid_dpop_proof", "ERR_DPOP_MULTIPLE");
  });

  it("compares htu after RFC 3986 §6.2.2 normalisation (RFC 9449 §4.3 step 9): escaped unreserved characters are the characters, an escaped / is not a /", async () => {
    const client = await registerTestClient();
    const key = await dpopKey();
    const nonce = await learnNonce(client, key);
    // /oauth2/token with its letters escaped, in either case: the same URI (§6.2.2.1, §6.2.2.2).
    const [prefix, name] = [
      ENDPOINT.token.slice(0, ENDPOINT.token.lastIndexOf("/")),
      ENDPOINT.token.slice(ENDPOINT.token.lastIndexOf("/") + 1),
    ];
    const escaped = [...name].map((char) => `%${char.charCodeAt(0).toString(16)}`).join("");
    for (const htu of [`${env.ISSUER}${prefix}/${escaped}`, `${env.ISSUER}${prefix}/${escaped.toUpperCase()}`]) {
      const response = await clientCredentials(client, { DPoP: await dpopProof(key, { htm: "POST", htu, nonce }) });
      expect(response.status, htu).toBe(200);
      expect(decodeJwt(((await response.json()) as TokenBody).access_token).cnf).toEqual({ jkt: key.jkt });
    }
    // §2.2: a reserved character's escape stays what it is, data within a segment.
    const slash = `${env.ISSUER}${prefix}%2F${name}`;
    const response = await clientCredentials(client, {
      DPoP: await dpopProof(key, { htm: "POST", htu: slash, nonce }),
    });
    await expectRefusal(response, "invalid_dpop_proof", "ERR_DPOP_HTU");
  });

  // RFC 7515 §4.1.9: typ is a media type, case-insensitive, `application/` optional (as jose's own
  // `typ` check reads it). Only the browser provider's grants, which Better Auth judges again and which
  // takes "dpop+jwt" alone, refuse the other spellings (oidc-dpop.test.ts, oidc-dpop-bound-code.test.ts).
  it("takes a typ spelled as the same media type (RFC 7515 §4.1.9): application/dpop+jwt, DPoP+JWT", async () => {
    const client = await registerTestClient();
    const key = await dpopKey();
    const nonce = await learnNonce(client, key);
    for (const typ of ["application/dpop+jwt", "DPoP+JWT", "application/DPoP+JWT"]) {
      const response = await clientCredentials(client, {
        DPoP: await dpopProof(key, { htm: "POST", htu: HTU, nonce, header: { typ } }),
      });
      expect(response.status, typ).toBe(200);
      expect(decodeJwt(((await response.json()) as TokenBody).access_token).cnf).toEqual({ jkt: key.jkt });
    }
    const other = await clientCredentials(client, {
      DPoP: await dpopProof(key, { htm: "POST", htu: HTU, nonce, header: { typ: "application/jwt" } }),
    });
    await expectRefusal(other, "invalid_dpop_proof", "ERR_DPOP_TYP");
  });

  it("a nonce from an earlier window is stale: use_dpop_nonce with a fresh one", async () => {
    const client = await registerTestClient();
    const key = await dpopKey();
    const now = Math.floor(Date.now() / 1000);
    const stale = await currentDpopNonce(env.KEY_ENCRYPTION_SECRET, now - 2 * DPOP_NONCE_WINDOW_SECONDS);
    const forged = `${Math.floor(now / DPOP_NONCE_WINDOW_SECONDS)}.${"A".repeat(43)}`;
    for (const nonce of [stale, forged]) {
      const response = await clientCredentials(client, {
        DPoP: await dpopProof(key, { htm: "POST", htu: HTU, nonce }),
      });
      await expectRefusal(response, "use_dpop_nonce", "ERR_DPOP_NONCE");
      expect(response.headers.get(DPOP_HEADER.nonce)).not.toBe(nonce);
    }
  });

  it("binds a delegated token from token exchange the same way: one decision for every grant", async () => {
    const orgId = await createTestOrg();
    const userId = await seedMember(orgId);
    const agent = await registerAgent(orgId);
    await grantDelegation(orgId, userId, agent);
    const params = delegationParams(await userToken(orgId, userId), await clientToken(agent));
    const key = await dpopKey();
    const nonce = await learnNonce(agent, key);
    const response = await tokenRequest(
      { grant_type: GRANT_TYPE.tokenExchange, ...params },
      { headers: { ...authorization(agent), DPoP: await dpopProof(key, { htm: "POST", htu: HTU, nonce }) } },
    );
    const { body, claims } = await issued(response);
    expect(body.token_type).toBe("DPoP");
    expect(claims).toMatchObject({ sub: userId, cnf: { jkt: key.jkt }, act: { sub: agent.clientId } });
  });

  it("advertises the proof algorithms (RFC 9449 §5.1)", async () => {
    const response = await exports.default.fetch(`http://localhost${ENDPOINT.authorizationServerMetadata}`);
    const metadata = (await response.json()) as Record<string, unknown>;
    expect(metadata.dpop_signing_alg_values_supported).toEqual([...DPOP_SIGNING_ALGS]);
  });
});

describe("a DPoP-bound token keeps its binding through token exchange (RFC 9449 §6, §7)", () => {
  /** Exchanges with `params`, proving `proofKey` (none: no DPoP header). */
  async function exchangeProving(agent: TestClient, params: Record<string, string>, proofKey?: DpopKey) {
    const nonce = proofKey && (await learnNonce(agent, proofKey));
    const dpop = proofKey && { DPoP: await dpopProof(proofKey, { htm: "POST", htu: HTU, nonce }) };
    return tokenRequest(
      { grant_type: GRANT_TYPE.tokenExchange, ...params },
      { headers: { ...authorization(agent), ...dpop } },
    );
  }

  it("its own bound token, no actor: refused without a proof of its key, bound to that key with one", async () => {
    const orgId = await createTestOrg();
    const agent = await registerAgent(orgId);
    const key = await dpopKey();
    const params = {
      subject_token: await mintedToken(agent, { confirmation: { jkt: key.jkt } }),
      subject_token_type: TOKEN_TYPE.accessToken,
    };
    await expectRefusal(await exchangeProving(agent, params), "invalid_dpop_proof", "ERR_DPOP_MISSING");
    await expectRefusal(
      await exchangeProving(agent, params, await dpopKey()),
      "invalid_dpop_proof",
      "ERR_DPOP_KEY_BINDING",
    );
    const { body, claims } = await issued(await exchangeProving(agent, params, key));
    expect(body.token_type).toBe("DPoP");
    expect(claims).toMatchObject({ sub: agent.clientId, cnf: { jkt: key.jkt } });
  });

  it("delegation: a bound actor token proves its own key, and a bound subject token is not laundered through an actor", async () => {
    const orgId = await createTestOrg();
    const userId = await seedMember(orgId);
    const agent = await registerAgent(orgId);
    await grantDelegation(orgId, userId, agent);
    const key = await dpopKey();
    const boundActor = delegationParams(
      await userToken(orgId, userId),
      await mintedToken(agent, { confirmation: { jkt: key.jkt } }),
    );
    await expectRefusal(await exchangeProving(agent, boundActor), "invalid_dpop_proof", "ERR_DPOP_MISSING");
    const { claims } = await issued(await exchangeProving(agent, boundActor, key));
    expect(claims).toMatchObject({ sub: userId, act: { sub: agent.clientId }, cnf: { jkt: key.jkt } });

    // The person's token, bound to the agent's key, with a bearer actor token beside it.
    const boundSubject = delegationParams(
      await mintedToken(agent, { subject: userId, confirmation: { jkt: key.jkt } }),
      await clientToken(agent),
    );
    await expectRefusal(await exchangeProving(agent, boundSubject), "invalid_dpop_proof", "ERR_DPOP_MISSING");
    const { claims: bound } = await issued(await exchangeProving(agent, boundSubject, key));
    expect(bound).toMatchObject({ sub: userId, cnf: { jkt: key.jkt } });
  });
});

describe("the binding decision, with nonces switched off (DPOP_NONCE_REQUIRED=false)", () => {
  const config = { ...tokenConfig(env), dpopNonceRequired: false };
  const client: AuthenticatedClient = { clientId: "mac_test", type: "confidential", method: "client_secret_basic" };

  it("binds a nonce-less proof and sends no nonce header", async () => {
    const key = await dpopKey();
    const headers = new Headers({ DPoP: await dpopProof(key, { htm: "POST", htu: HTU }) });
    await expect(dpopBindingFor({ method: "POST", headers, client }, { env, config })).resolves.toEqual({
      jkt: key.jkt,
    });
    expect(await dpopNonceHeader(config, { headers })).toBeUndefined();
  });

  it("still refuses a replayed proof", async () => {
    const key = await dpopKey();
    const headers = new Headers({ DPoP: await dpopProof(key, { htm: "POST", htu: HTU }) });
    await dpopBindingFor({ method: "POST", headers, client }, { env, config });
    const error = await dpopBindingFor({ method: "POST", headers, client }, { env, config }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect((error as OAuthError).code).toBe("invalid_dpop_proof");
  });
});
