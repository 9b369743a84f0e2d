import { env } from "cloudflare:workers";
import { decodeJwt, generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { ENDPOINT, REALM } from "../../shared/contracts/endpoints.ts";
import { GRANT_TYPE } from "../../shared/contracts/tokens.ts";
import { generateClientSecret, hashSecret } from "../../shared/crypto/secret-hash.ts";
import {
  assertionParams,
  basicAuthorization,
  clientAssertion,
  registerTestClient,
  type TestClient,
  unsignedJwt,
} from "./clients-fixtures.ts";
import { expectOAuthError, tokenRequest } from "./fixtures.ts";

const CLIENT_CREDENTIALS = { grant_type: GRANT_TYPE.clientCredentials };

function basic(client: TestClient, params: Record<string, string> = CLIENT_CREDENTIALS) {
  return tokenRequest(params, { headers: { Authorization: basicAuthorization(client.clientId, client.secret) } });
}

/** RFC 6749 §5.2: 401 invalid_client, naming the scheme (Basic, with our realm). */
async function expectInvalidClient(response: Response) {
  expect(response.headers.get("WWW-Authenticate")).toBe(`Basic realm="${REALM}"`);
  await expectOAuthError(response, 401, "invalid_client");
}

async function expectIssuedTo(response: Response, client: TestClient) {
  expect(response.status).toBe(200);
  const body = (await response.json()) as { access_token: string };
  expect(decodeJwt(body.access_token)).toMatchObject({ sub: client.clientId, client_id: client.clientId });
}

describe("client_secret_basic (RFC 6749 §2.3.1)", () => {
  it("authenticates a client by HTTP Basic", async () => {
    const client = await registerTestClient();
    await expectIssuedTo(await basic(client), client);
  });

  it("form-decodes the id and the secret before comparing (§2.3.1, Appendix B)", async () => {
    const client = await registerTestClient({ secret: "a b+c:d%e/é" });
    // basicAuthorization form-encodes: "a+b%2Bc%3Ad%25e%2F%C3%A9".
    await expectIssuedTo(await basic(client), client);
    // The same secret sent raw (a colon in the password is fine for RFC 7617,
    // but `+` and `%` then decode to something else) does not match.
    const raw = `Basic ${btoa(unescape(encodeURIComponent(`${client.clientId}:a b+c:d%e/é`)))}`;
    await expectInvalidClient(await tokenRequest(CLIENT_CREDENTIALS, { headers: { Authorization: raw } }));
  });

  it("accepts a matching client_id in the body, refuses a different one (invalid_request)", async () => {
    const client = await registerTestClient();
    await expectIssuedTo(await basic(client, { ...CLIENT_CREDENTIALS, client_id: client.clientId }), client);
    const other = await registerTestClient();
    await expectOAuthError(
      await basic(client, { ...CLIENT_CREDENTIALS, client_id: other.clientId }),
      400,
      "invalid_request",
    );
  });

  it("invalid_client: a wrong secret, an unknown client, another scheme, malformed credentials", async () => {
    const client = await registerTestClient();
    await expectInvalidClient(await basic({ ...client, secret: generateClientSecret() }));
    await expectInvalidClient(await basic({ ...client, clientId: "mac_AAAAAAAAAAAAAAAAAAAAAAAA" }));
    for (const Authorization of [
      `Bearer ${client.secret}`,
      "Basic !!!",
      `Basic ${btoa("no-colon-here")}`,
      `Basic ${btoa(`${client.clientId}:%zz`)}`,
    ]) {
      await expectInvalidClient(await tokenRequest(CLIENT_CREDENTIALS, { headers: { Authorization } }));
    }
  });

  it("invalid_client for a client registered for another method (RFC 7591 §2: one method each)", async () => {
    const post = await registerTestClient({ authMethod: "client_secret_post" });
    await expectInvalidClient(await basic(post));
  });
});

describe("client_secret_post (RFC 6749 §2.3.1)", () => {
  it("authenticates a client by client_id and client_secret in the body", async () => {
    const client = await registerTestClient({ authMethod: "client_secret_post" });
    await expectIssuedTo(
      await tokenRequest({ ...CLIENT_CREDENTIALS, client_id: client.clientId, client_secret: client.secret }),
      client,
    );
  });

  it("invalid_client: a wrong secret, no client_id, a Basic client posting its secret", async () => {
    const client = await registerTestClient({ authMethod: "client_secret_post" });
    await expectInvalidClient(
      await tokenRequest({ ...CLIENT_CREDENTIALS, client_id: client.clientId, client_secret: "wrong" }),
    );
    await expectInvalidClient(await tokenRequest({ ...CLIENT_CREDENTIALS, client_secret: client.secret }));
    const basicClient = await registerTestClient();
    await expectInvalidClient(
      await tokenRequest({ ...CLIENT_CREDENTIALS, client_id: basicClient.clientId, client_secret: basicClient.secret }),
    );
  });

  it("invalid_client for a confidential client that sends no credential (never treated as public)", async () => {
    const client = await registerTestClient({ authMethod: "client_secret_post" });
    await expectInvalidClient(await tokenRequest({ ...CLIENT_CREDENTIALS, client_id: client.clientId }));
  });
});

describe("private_key_jwt (RFC 7523 §2.2, §3)", () => {
  for (const alg of ["ES256", "RS256", "EdDSA"] as const) {
    it(`authenticates a client by an ${alg} assertion against its inline JWKS`, async () => {
      const client = await registerTestClient({ authMethod: "private_key_jwt", alg });
      await expectIssuedTo(await tokenRequest(assertionParams(await clientAssertion(client))), client);
    });
  }

  it("accepts aud as a one-element array and a matching client_id beside the assertion", async () => {
    const client = await registerTestClient({ authMethod: "private_key_jwt" });
    const assertion = await clientAssertion(client, { claims: { aud: [env.ISSUER] } });
    await expectIssuedTo(await tokenRequest(assertionParams(assertion, { client_id: client.clientId })), client);
  });

  it("invalid_client for an assertion used twice (jti single-use per client)", async () => {
    const client = await registerTestClient({ authMethod: "private_key_jwt" });
    const assertion = await clientAssertion(client);
    expect((await tokenRequest(assertionParams(assertion))).status).toBe(200);
    await expectInvalidClient(await tokenRequest(assertionParams(assertion)));
    // The same jti in a fresh assertion is the same jti.
    const { jti } = decodeJwt(assertion);
    await expectInvalidClient(await tokenRequest(assertionParams(await clientAssertion(client, { claims: { jti } }))));
  });

  it("invalid_client for an aud other than the issuer alone: the token endpoint URL, another server, two audiences", async () => {
    const client = await registerTestClient({ authMethod: "private_key_jwt" });
    for (const aud of [
      `${env.ISSUER}${ENDPOINT.token}`,
      "https://other.example",
      [env.ISSUER, "https://other.example"],
    ]) {
      await expectInvalidClient(
        await tokenRequest(assertionParams(await clientAssertion(client, { claims: { aud } }))),
      );
    }
  });

  it("invalid_client for an expired assertion, and for one whose exp is more than 5 minutes ahead", async () => {
    const client = await registerTestClient({ authMethod: "private_key_jwt" });
    const now = Math.floor(Date.now() / 1000);
    for (const claims of [{ iat: now - 600, exp: now - 60 }, { exp: now + 600 }, { iat: now + 120, exp: now + 180 }]) {
      await expectInvalidClient(await tokenRequest(assertionParams(await clientAssertion(client, { claims }))));
    }
  });

  it("invalid_client for alg none and HS256 (asymmetric algorithms only), before any key is looked at", async () => {
    const client = await registerTestClient({ authMethod: "private_key_jwt" });
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: client.clientId, sub: client.clientId, aud: env.ISSUER, iat: now, exp: now + 60 };
    const none = `${unsignedJwt({ alg: "none" }, { ...claims, jti: crypto.randomUUID() })}AAAA`;
    await expectInvalidClient(await tokenRequest(assertionParams(none)));
    // HMAC keyed with the client's own public key text: the classic confusion.
    const hs256 = await new SignJWT({ ...claims, jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode(client.clientId.padEnd(32, "x")));
    await expectInvalidClient(await tokenRequest(assertionParams(hs256)));
  });

  it("invalid_client: another key, iss ≠ sub, no jti, another JWT type, the wrong assertion type", async () => {
    const client = await registerTestClient({ authMethod: "private_key_jwt" });
    const stranger = await generateKeyPair("ES256");
    await expectInvalidClient(
      await tokenRequest(assertionParams(await clientAssertion(client, { privateKey: stranger.privateKey }))),
    );
    await expectInvalidClient(
      await tokenRequest(assertionParams(await clientAssertion(client, { claims: { iss: "someone" } }))),
    );
    await expectInvalidClient(
      await tokenRequest(assertionParams(await clientAssertion(client, { claims: { jti: undefined } }))),
    );
    await expectInvalidClient(
      await tokenRequest(assertionParams(await clientAssertion(client, { header: { typ: "at+jwt" } }))),
    );
    await expectInvalidClient(
      await tokenRequest({
        ...assertionParams(await clientAssertion(client)),
        client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
      }),
    );
  });

  it("invalid_client for a secret client presenting an assertion, and a client_id that differs from it", async () => {
    const secretClient = await registerTestClient();
    const keyClient = await registerTestClient({ authMethod: "private_key_jwt" });
    const forged = await clientAssertion(keyClient, {
      claims: { iss: secretClient.clientId, sub: secretClient.clientId },
    });
    await expectInvalidClient(await tokenRequest(assertionParams(forged)));
    const other = await registerTestClient({ authMethod: "private_key_jwt" });
    await expectInvalidClient(
      await tokenRequest(assertionParams(await clientAssertion(keyClient), { client_id: other.clientId })),
    );
  });

  // The timeout gives a thousand requests on a busy machine room to finish; it asserts nothing about time.
  it("of 1000 concurrent requests reusing one assertion, exactly one succeeds", async () => {
    const client = await registerTestClient({ authMethod: "private_key_jwt" });
    const assertion = await clientAssertion(client, { claims: { exp: Math.floor(Date.now() / 1000) + 240 } });
    const responses = await Promise.all(Array.from({ length: 1000 }, () => tokenRequest(assertionParams(assertion))));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 401)).toHaveLength(999);
    for (const r of responses.filter((r) => r.status === 401).slice(0, 5)) {
      expect(((await r.json()) as { error: string }).error).toBe("invalid_client");
    }
  }, 60_000);
});

describe("client status", () => {
  it("invalid_client for a disabled or pending client, whatever its method, credential correct", async () => {
    for (const status of ["disabled", "pending"] as const) {
      const basicClient = await registerTestClient({ status });
      await expectInvalidClient(await basic(basicClient));
      const post = await registerTestClient({ status, authMethod: "client_secret_post" });
      await expectInvalidClient(
        await tokenRequest({ ...CLIENT_CREDENTIALS, client_id: post.clientId, client_secret: post.secret }),
      );
      const key = await registerTestClient({ status, authMethod: "private_key_jwt" });
      const assertion = await clientAssertion(key);
      const response = await tokenRequest(assertionParams(assertion));
      await expectInvalidClient(response);
    }
  });

  it("a disabled client's assertion jti is not spent: once enabled, the same assertion works", async () => {
    const client = await registerTestClient({ status: "disabled", authMethod: "private_key_jwt" });
    const assertion = await clientAssertion(client);
    await expectInvalidClient(await tokenRequest(assertionParams(assertion)));
    await env.DB.prepare("UPDATE oauth_client SET status = 'active' WHERE client_id = ?").bind(client.clientId).run();
    expect((await tokenRequest(assertionParams(assertion))).status).toBe(200);
  });

  it("stores only the secret's hash", async () => {
    const client = await registerTestClient();
    const row = await env.DB.prepare("SELECT secret_hash FROM oauth_client WHERE client_id = ?")
      .bind(client.clientId)
      .first<{ secret_hash: string }>();
    expect(row?.secret_hash).toBe(await hashSecret(client.secret));
    expect(row?.secret_hash).not.toContain(client.secret);
  });
});
