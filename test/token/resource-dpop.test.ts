import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { adminAudience, ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { DPOP_HEADER } from "../../shared/contracts/headers.ts";
import { AGENT_API } from "../../shared/contracts/mcp.ts";
import { SSF_PATH } from "../../shared/contracts/ssf.ts";
import { GRANT_TYPE } from "../../shared/contracts/tokens.ts";
import { PROBLEM_CONTENT_TYPE } from "../../shared/errors/problem.ts";
import { type DpopKey, dpopKey, dpopProof, type ProofOptions } from "../support/runtime/dpop-proof.ts";
import { registerOperator } from "./admin-fixtures.ts";
import {
  basicAuthorization,
  clientToken,
  createTestOrg,
  registerTestClient,
  setOrgPolicy,
  type TestClient,
} from "./clients-fixtures.ts";
import { AUDIENCE, expectOAuthError, tokenRequest } from "./fixtures.ts";
import { registerReceiver, SSF_AUDIENCE } from "./ssf-fixtures.ts";

// RFC 9449 §7.1 at the token Worker's own resources (http/resource-token.ts):
// a DPoP-bound token is never a bearer token there, and goes only with a
// fresh proof for the request, by the token's key, used once.

interface Surface {
  name: string;
  /** A client whose client_credentials tokens must be DPoP-bound. */
  boundClient: () => Promise<TestClient>;
  /** The same kind of client, free to take bearer tokens. */
  bearerClient: () => Promise<TestClient>;
  audience: string;
  /** A GET the client's token may make (200). */
  path: string;
  /** The admin API restates errors as problem details. */
  problemDetails: boolean;
}

async function requireDpop(client: TestClient): Promise<TestClient> {
  await env.DB.prepare("UPDATE oauth_client SET require_dpop = 1 WHERE client_id = ?").bind(client.clientId).run();
  return client;
}

async function agent(requireDpopForAgents: boolean): Promise<TestClient> {
  const orgId = await createTestOrg();
  if (requireDpopForAgents) await setOrgPolicy(orgId, { requireDpopForAgents: true });
  return registerTestClient({ orgId, kind: "agent", scopes: ["documents:read"], audiences: [AUDIENCE] });
}

const SURFACES: Surface[] = [
  {
    name: "admin API",
    boundClient: async () => requireDpop(await registerOperator()),
    bearerClient: () => registerOperator(),
    audience: adminAudience(env.ISSUER),
    path: `${ENDPOINT.admin}/keys`,
    problemDetails: true,
  },
  {
    name: "agent API (org requires DPoP for agents)",
    boundClient: () => agent(true),
    bearerClient: () => agent(false),
    audience: AUDIENCE,
    path: AGENT_API.mcpServers,
    problemDetails: false,
  },
  {
    name: "SSF transmitter",
    boundClient: async () => requireDpop(await registerReceiver()),
    bearerClient: () => registerReceiver(),
    audience: SSF_AUDIENCE,
    path: `${ENDPOINT.ssf}${SSF_PATH.streams}`,
    problemDetails: false,
  },
];

/** A DPoP-bound token by client_credentials, after the token endpoint's nonce round trip (RFC 9449 §8). */
async function boundToken(client: TestClient, key: DpopKey, audience: string): Promise<string> {
  const htu = `${env.ISSUER}${ENDPOINT.token}`;
  const request = (proof: string) =>
    tokenRequest(
      { grant_type: GRANT_TYPE.clientCredentials, resource: audience },
      { headers: { Authorization: basicAuthorization(client.clientId, client.secret), DPoP: proof } },
    );
  const first = await request(await dpopProof(key, { htm: "POST", htu }));
  const nonce = first.headers.get(DPOP_HEADER.nonce) as string;
  const response = await request(await dpopProof(key, { htm: "POST", htu, nonce }));
  expect(response.status).toBe(200);
  const body = (await response.json()) as { access_token: string; token_type: string };
  expect(body.token_type).toBe("DPoP");
  return body.access_token;
}

function call(path: string, authorization: string, proof?: string): Promise<Response> {
  return exports.default.fetch(
    new Request(`http://localhost${path}`, {
      headers: { Authorization: authorization, ...(proof === undefined ? {} : { DPoP: proof }) },
    }),
  );
}

/** The refusal's status, code, `error_description` prefix, and a `DPoP` challenge naming the same. */
async function expectDpopRefusal(surface: Surface, response: Response, error: string, code: string): Promise<void> {
  const challenge = response.headers.get("WWW-Authenticate") ?? "";
  expect(challenge.startsWith("DPoP ")).toBe(true);
  expect(challenge).toContain(`error="${error}"`);
  expect(challenge).toContain("algs=");
  if (surface.problemDetails) expect(response.headers.get("Content-Type")).toBe(PROBLEM_CONTENT_TYPE);
  const body = await expectOAuthError(response, 401, error);
  expect(body.error_description.startsWith(`${code}:`)).toBe(true);
}

describe.each(SURFACES)("DPoP-bound tokens at the $name (RFC 9449 §7.1)", (surface) => {
  const htu = `${env.ISSUER}${surface.path}`;

  async function bound() {
    const key = await dpopKey();
    const token = await boundToken(await surface.boundClient(), key, surface.audience);
    // §9: the resource's own answer names the nonce to use.
    const refused = await call(
      surface.path,
      `DPoP ${token}`,
      await dpopProof(key, { htm: "GET", htu, accessToken: token }),
    );
    await expectDpopRefusal(surface, refused, "use_dpop_nonce", "ERR_DPOP_NONCE");
    const nonce = refused.headers.get(DPOP_HEADER.nonce);
    expect(nonce).toBeTruthy();
    const proof = (options: Partial<ProofOptions> = {}, signer: DpopKey = key) =>
      dpopProof(signer, { htm: "GET", htu, accessToken: token, nonce: nonce as string, ...options });
    return { key, token, proof };
  }

  it("a bound token sent as Bearer is refused invalid_token (ERR_DPOP_SCHEME), with no proof or with one", async () => {
    const { token, proof } = await bound();
    await expectDpopRefusal(surface, await call(surface.path, `Bearer ${token}`), "invalid_token", "ERR_DPOP_SCHEME");
    await expectDpopRefusal(
      surface,
      await call(surface.path, `Bearer ${token}`, await proof()),
      "invalid_token",
      "ERR_DPOP_SCHEME",
    );
  });

  it("with the DPoP scheme and a valid proof: 200; the same proof again: invalid_dpop_proof (ERR_DPOP_REPLAY)", async () => {
    const { token, proof } = await bound();
    const once = await proof();
    const accepted = await call(surface.path, `DPoP ${token}`, once);
    expect(accepted.status).toBe(200);
    await expectDpopRefusal(
      surface,
      await call(surface.path, `DPoP ${token}`, once),
      "invalid_dpop_proof",
      "ERR_DPOP_REPLAY",
    );
    // The scheme name is case-insensitive (RFC 9110 §11.1).
    expect((await call(surface.path, `dpop ${token}`, await proof())).status).toBe(200);
  });

  it("refuses a proof by another key, for another URL, another method, without ath, or none at all", async () => {
    const { token, proof } = await bound();
    const auth = `DPoP ${token}`;
    await expectDpopRefusal(
      surface,
      await call(surface.path, auth, await proof({}, await dpopKey())),
      "invalid_token",
      "ERR_DPOP_KEY_BINDING",
    );
    await expectDpopRefusal(
      surface,
      await call(surface.path, auth, await proof({ htu: `${env.ISSUER}${ENDPOINT.token}` })),
      "invalid_dpop_proof",
      "ERR_DPOP_HTU",
    );
    await expectDpopRefusal(
      surface,
      await call(surface.path, auth, await proof({ htm: "POST" })),
      "invalid_dpop_proof",
      "ERR_DPOP_HTM",
    );
    await expectDpopRefusal(
      surface,
      await call(surface.path, auth, await proof({ claims: { ath: undefined } })),
      "invalid_dpop_proof",
      "ERR_DPOP_CLAIM_MISSING",
    );
    await expectDpopRefusal(
      surface,
      await call(surface.path, auth, await proof({ accessToken: "another.token.altogether" })),
      "invalid_dpop_proof",
      "ERR_DPOP_ATH",
    );
    await expectDpopRefusal(
      surface,
      await call(surface.path, auth, await proof({ iat: Math.floor(Date.now() / 1000) - 600 })),
      "invalid_dpop_proof",
      "ERR_DPOP_IAT",
    );
    await expectDpopRefusal(surface, await call(surface.path, auth), "invalid_dpop_proof", "ERR_DPOP_MISSING");
  });

  it("refuses a proof past its exp or before its nbf (RFC 7519 §4.1.4-§4.1.5), or whose jwk is not for verifying (RFC 7517 §4.2-§4.3)", async () => {
    const { key, token, proof } = await bound();
    const auth = `DPoP ${token}`;
    const now = Math.floor(Date.now() / 1000);
    const cases: [Partial<ProofOptions>, string][] = [
      [{ claims: { exp: now - 30 } }, "ERR_DPOP_EXP"],
      [{ claims: { nbf: now + 30 } }, "ERR_DPOP_NBF"],
      [{ header: { jwk: { ...key.publicJwk, key_ops: ["sign"] } } }, "ERR_DPOP_JWK"],
      [{ header: { jwk: { ...key.publicJwk, use: "enc" } } }, "ERR_DPOP_JWK"],
    ];
    for (const [options, code] of cases) {
      await expectDpopRefusal(
        surface,
        await call(surface.path, auth, await proof(options)),
        "invalid_dpop_proof",
        code,
      );
    }
  });

  it("an unbound token: Bearer still works, the DPoP scheme is refused invalid_token (ERR_DPOP_NOT_BOUND)", async () => {
    const token = await clientToken(await surface.bearerClient(), surface.audience);
    expect((await call(surface.path, `Bearer ${token}`)).status).toBe(200);
    const key = await dpopKey();
    await expectDpopRefusal(
      surface,
      await call(surface.path, `DPoP ${token}`, await dpopProof(key, { htm: "GET", htu, accessToken: token })),
      "invalid_token",
      "ERR_DPOP_NOT_BOUND",
    );
  });
});
