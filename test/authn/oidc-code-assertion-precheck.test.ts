// The token Worker asks `OidcGrants.precheck` before a code grant takes the code's turn. A
// `private_key_jwt` assertion naming the code's client is verified there as Better Auth verifies it
// (RFC 7523 §3; workers/authn/src/oidc/live-code-assertion.ts), read-only: each assertion Better Auth
// would refuse is refused there with Better Auth's own answer (the same one `grant`, which hands it to
// Better Auth, gives), and a valid one passes with its `jti` unspent, for Better Auth to spend once in
// the turn. The client is a Client ID Metadata Document client served by the real host Worker
// (test/support/runtime/cimd-host `/clients/private-key-jwt`).
import { env, exports } from "cloudflare:workers";
import { generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import type { BrowserGrantAnswer, OidcGrantsRpc } from "../../shared/contracts/oidc-grants.ts";
import {
  type AssertionOptions,
  ASSERTING_CLIENT,
  clientAssertion,
} from "../support/runtime/cimd-host/assertion-signer.ts";
import { ASSERTING_CALLBACK, assertingClientCode, ISSUER } from "./oidc-helpers.ts";

const ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

const grants = (): OidcGrantsRpc => (exports as unknown as { OidcGrants: OidcGrantsRpc }).OidcGrants;

function handed(form: Record<string, string>) {
  return { form: new URLSearchParams(form).toString(), clientAddress: "198.51.100.7" };
}

function read(answer: BrowserGrantAnswer | undefined) {
  return answer && { status: answer.status, body: JSON.parse(answer.body) as Record<string, unknown> };
}

const refused = (status: number, description: string) => ({
  status,
  body: { error: "invalid_client", error_description: description },
});

/** A live code of the document client: its token request's fields, the assertion left out. */
async function liveCode(): Promise<Record<string, string>> {
  return { ...(await assertingClientCode()).fields, client_assertion_type: ASSERTION_TYPE };
}

const now = () => Math.floor(Date.now() / 1000);

/** Assertions naming the code's client that Better Auth refuses, and its answer (RFC 7523 §3). */
const REFUSED: [string, () => Promise<Record<string, string>>, ReturnType<typeof refused>][] = [
  [
    "signed by a key not in the client's document",
    async () => ({ client_assertion: await signed({ key: (await generateKeyPair("ES256")).privateKey }) }),
    refused(401, "client assertion signature verification failed"),
  ],
  [
    "expired (rule 4)",
    async () => ({ client_assertion: await signed({ expiresAt: now() - 60 }) }),
    refused(401, "client assertion signature verification failed"),
  ],
  [
    "for another audience (rule 3)",
    async () => ({ client_assertion: await clientAssertion("https://elsewhere.example.test/oauth2/token") }),
    refused(401, "client assertion signature verification failed"),
  ],
  [
    "without exp (rule 4)",
    async () => ({ client_assertion: await signed({ expiresAt: null }) }),
    refused(400, "client assertion must include exp claim"),
  ],
  [
    "expiring beyond the provider's assertion lifetime",
    async () => ({ client_assertion: await signed({ expiresAt: now() + 3600 }) }),
    refused(400, "client assertion exp is too far in the future (max 300s)"),
  ],
  [
    "beside a client_id naming another client (RFC 7521 §4.2)",
    async () => ({ client_id: "https://client.example.test/clients/good", client_assertion: await signed() }),
    refused(400, "client_id in body does not match assertion sub/iss"),
  ],
  [
    "of another assertion type",
    async () => ({ client_assertion_type: "urn:example:other", client_assertion: await signed() }),
    refused(400, "unsupported client_assertion_type"),
  ],
];

function signed(options: AssertionOptions = {}): Promise<string> {
  return clientAssertion(ISSUER, options);
}

describe("a private_key_jwt assertion at the early pre-check (RFC 7523 §3)", () => {
  it("each assertion Better Auth refuses is refused early with its answer, and the code stays live", async () => {
    const fields = await liveCode();
    for (const [why, credentials, expected] of REFUSED) {
      const request = handed({ ...fields, ...(await credentials()) });
      const early = read(await grants().precheck(request));
      // The same request handed to Better Auth: it refuses the assertion before it reads the code.
      const late = read(await grants().grant(request));
      expect({ why, early, late }).toEqual({ why, early: expected, late: expected });
    }
    const redeemed = await grants().grant(handed({ ...fields, client_assertion: await signed() }));
    expect(redeemed.status, redeemed.body).toBe(200);
  });

  it("a valid assertion passes with its jti unspent, which Better Auth then spends once", async () => {
    const fields = await liveCode();
    const assertion = await signed();
    const request = handed({ ...fields, client_assertion: assertion });
    expect(await grants().precheck(request)).toBeUndefined();
    expect(await grants().precheck(request)).toBeUndefined();
    const redeemed = await grants().grant(request);
    expect(redeemed.status, redeemed.body).toBe(200);

    // Its jti spent, the same assertion for another live code is refused early as Better Auth refuses it.
    const next = await liveCode();
    const reused = handed({ ...next, client_assertion: assertion });
    const used = refused(400, "client assertion jti has already been used");
    expect(read(await grants().precheck(reused))).toEqual(used);
    expect(read(await grants().grant(reused))).toEqual(used);
    const fresh = await grants().grant(handed({ ...next, client_assertion: await signed() }));
    expect(fresh.status, fresh.body).toBe(200);
  });
});

describe("a metadata document client whose document no longer resolves", () => {
  it("is refused early as Better Auth's client discovery refuses it (400 invalid_client, the resolver's code), not a 500", async () => {
    // A document client stored when its document resolved; the host now serves another client_id (§4.1).
    const clientId = "https://client.example.test/clients/mismatch";
    await env.DB.prepare(
      `INSERT OR IGNORE INTO oidc_client (id, client_id, client_discovery_id, token_endpoint_auth_method, redirect_uris)
       VALUES (?1, ?2, 'cimd', 'private_key_jwt', ?3)`,
    )
      .bind(crypto.randomUUID(), clientId, JSON.stringify([ASSERTING_CALLBACK]))
      .run();
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256" })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(ISSUER)
      .setJti(crypto.randomUUID())
      .setIssuedAt()
      .setExpirationTime("60s")
      .sign((await generateKeyPair("ES256")).privateKey);
    const request = handed({
      grant_type: "authorization_code",
      code: "never-issued",
      redirect_uri: ASSERTING_CALLBACK,
      code_verifier: "v".repeat(43),
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: assertion,
    });
    const early = read(await grants().precheck(request));
    const late = read(await grants().grant(request));
    const expected = {
      status: 400,
      body: { error: "invalid_client", error_description: expect.stringMatching(/^ERR_CIMD_CLIENT_ID_MISMATCH: /) },
    };
    expect(early).toEqual(expected);
    expect(late).toEqual(early);
  });
});

describe("an assertion whose sub is not a string", () => {
  it("names no client: refused early, 400 invalid_client, live code or not, never a 500 and the code stays live", async () => {
    // RFC 7519 §4.1.2: `sub` is a StringOrURI. jose's decodeJwt checks no claim's type, and Better Auth
    // would bind the object to its client query.
    const assertion = await new SignJWT({ sub: { client: ASSERTING_CLIENT } as unknown as string })
      .setProtectedHeader({ alg: "ES256" })
      .setIssuer(ASSERTING_CLIENT)
      .setAudience(ISSUER)
      .setJti(crypto.randomUUID())
      .setIssuedAt()
      .setExpirationTime("60s")
      .sign((await generateKeyPair("ES256")).privateKey);
    const fields = await liveCode();
    const expected = refused(400, "client assertion must contain sub or iss claim identifying the client");
    for (const code of [fields.code ?? "", "never-issued"]) {
      const request = handed({ ...fields, code, client_assertion: assertion });
      expect(read(await grants().precheck(request))).toEqual(expected);
    }
    const redeemed = await grants().grant(handed({ ...fields, client_assertion: await signed() }));
    expect(redeemed.status, redeemed.body).toBe(200);
  });
});
