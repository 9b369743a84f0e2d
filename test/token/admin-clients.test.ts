import { env } from "cloudflare:workers";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { GRANT_TYPE, CLIENT_ASSERTION_TYPE_JWT_BEARER } from "../../shared/contracts/tokens.ts";
import { adminRequest, adminToken, clientRevocations, expectHttpError } from "./admin-fixtures.ts";
import { basicAuthorization, createTestOrg } from "./clients-fixtures.ts";
import { AUDIENCE, expectOAuthError, tokenRequest } from "./fixtures.ts";

interface ClientBody {
  client_id: string;
  client_secret?: string;
  org_id: string;
  client_name: string;
  client_type: string;
  token_endpoint_auth_method: string;
  grant_types: string[];
  scope: string;
  audiences: string[];
  jwks: unknown;
  status: string;
  max_ttl_seconds: number | null;
}

let token: string;
beforeAll(async () => {
  token = await adminToken();
});

const NEW_CLIENT = {
  client_name: "billing sync",
  client_type: "machine",
  scope: "documents:read",
  audiences: [AUDIENCE],
};

async function createClient(orgId: string, body: Record<string, unknown> = NEW_CLIENT): Promise<ClientBody> {
  const response = await adminRequest("POST", `/orgs/${orgId}/clients`, { token, body });
  expect(response.status).toBe(201);
  return (await response.json()) as ClientBody;
}

function clientCredentials(clientId: string, secret: string) {
  return tokenRequest(
    { grant_type: GRANT_TYPE.clientCredentials },
    { headers: { Authorization: basicAuthorization(clientId, secret) } },
  );
}

async function accessToken(clientId: string, secret: string): Promise<string> {
  const response = await clientCredentials(clientId, secret);
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

describe("admin API: clients", () => {
  it("creates a secret client: the secret is shown once, works at the token endpoint, and no hash is ever shown", async () => {
    const orgId = await createTestOrg();
    const created = await createClient(orgId);
    expect(created).toMatchObject({
      org_id: orgId,
      client_name: "billing sync",
      client_type: "machine",
      token_endpoint_auth_method: "client_secret_basic",
      grant_types: [GRANT_TYPE.clientCredentials],
      scope: "documents:read",
      audiences: [AUDIENCE],
      status: "active",
    });
    expect(created.client_id).toMatch(/^mac_[A-Za-z0-9_-]{22,}$/);
    expect(created.client_secret).toMatch(/^mas_/);
    await accessToken(created.client_id, created.client_secret as string);

    const read = await (await adminRequest("GET", `/orgs/${orgId}/clients/${created.client_id}`, { token })).text();
    const listed = await (await adminRequest("GET", `/orgs/${orgId}/clients`, { token })).text();
    for (const text of [read, listed]) {
      expect(text).not.toContain(created.client_secret);
      expect(text).not.toContain("sha256:");
      expect(text).not.toContain("secret_hash");
      expect(text).toContain(created.client_id);
    }
  });

  it("creates a private_key_jwt client from an inline JWKS; no secret", async () => {
    const orgId = await createTestOrg();
    const { publicKey, privateKey } = await generateKeyPair("ES256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "k1" };
    const created = await createClient(orgId, {
      ...NEW_CLIENT,
      client_type: "agent",
      token_endpoint_auth_method: "private_key_jwt",
      jwks: { keys: [jwk] },
    });
    expect(created.client_secret).toBeUndefined();
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({ jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .setIssuer(created.client_id)
      .setSubject(created.client_id)
      .setAudience(env.ISSUER)
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(privateKey);
    const response = await tokenRequest({
      grant_type: GRANT_TYPE.clientCredentials,
      client_assertion_type: CLIENT_ASSERTION_TYPE_JWT_BEARER,
      client_assertion: assertion,
    });
    expect(response.status).toBe(200);
  });

  it("400 invalid_body for every bad client field", async () => {
    const orgId = await createTestOrg();
    const { privateKey } = await generateKeyPair("ES256", { extractable: true });
    const privateJwk = await exportJWK(privateKey);
    const bad: Record<string, unknown>[] = [
      { ...NEW_CLIENT, scope: "admin" },
      { ...NEW_CLIENT, scope: "documents:write" },
      { ...NEW_CLIENT, scope: [] },
      { ...NEW_CLIENT, audiences: ["https://not-served.example/api"] },
      { ...NEW_CLIENT, client_type: "robot" },
      { ...NEW_CLIENT, client_type: undefined },
      { ...NEW_CLIENT, client_name: undefined },
      { ...NEW_CLIENT, grant_types: ["password"] },
      { ...NEW_CLIENT, token_endpoint_auth_method: "none" },
      { ...NEW_CLIENT, max_ttl_seconds: 7200 },
      { ...NEW_CLIENT, max_ttl_seconds: 1.5 },
      { ...NEW_CLIENT, client_secret: "chosen" },
      { ...NEW_CLIENT, jwks: { keys: [] } },
      { ...NEW_CLIENT, token_endpoint_auth_method: "private_key_jwt" },
      { ...NEW_CLIENT, token_endpoint_auth_method: "private_key_jwt", jwks: { keys: [privateJwk] } },
      { ...NEW_CLIENT, token_endpoint_auth_method: "private_key_jwt", jwks: { keys: [{ kty: "oct", k: "AAAA" }] } },
      { ...NEW_CLIENT, token_endpoint_auth_method: "private_key_jwt", jwks_uri: "http://keys.example/jwks.json" },
      { ...NEW_CLIENT, owner_user_id: "user-who-is-not-a-member" },
    ];
    for (const body of bad) {
      await expectHttpError(await adminRequest("POST", `/orgs/${orgId}/clients`, { token, body }), 400, "invalid_body");
    }
    const count = await env.DB.prepare("SELECT count(*) AS n FROM oauth_client WHERE org_id = ?")
      .bind(orgId)
      .first<{ n: number }>();
    expect(count?.n).toBe(0);
  });

  it("404 not_found for an unknown client and for another org's client", async () => {
    const orgId = await createTestOrg();
    const otherOrg = await createTestOrg();
    const created = await createClient(otherOrg);
    for (const path of [
      `/orgs/${orgId}/clients/mac_AAAAAAAAAAAAAAAAAAAAAAAA`,
      `/orgs/${orgId}/clients/${created.client_id}`,
    ]) {
      await expectHttpError(await adminRequest("GET", path, { token }), 404, "not_found");
      await expectHttpError(await adminRequest("POST", `${path}/disable`, { token }), 404, "not_found");
    }
  });

  it("PATCH changes a client; a narrowing change revokes its tokens, a widening one does not", async () => {
    const orgId = await createTestOrg();
    const created = await createClient(orgId, { ...NEW_CLIENT, max_ttl_seconds: 300 });
    const path = `/orgs/${orgId}/clients/${created.client_id}`;
    const renamed = await adminRequest("PATCH", path, {
      token,
      body: { client_name: "renamed", max_ttl_seconds: null },
    });
    expect(renamed.status).toBe(200);
    expect(await renamed.json()).toMatchObject({ client_name: "renamed", max_ttl_seconds: null });
    expect(await clientRevocations(orgId)).toEqual([]);
    const narrowed = await adminRequest("PATCH", path, { token, body: { max_ttl_seconds: 60 } });
    expect(narrowed.status).toBe(200);
    expect(await clientRevocations(orgId)).toEqual([created.client_id]);
    await expectHttpError(await adminRequest("PATCH", path, { token, body: {} }), 400, "invalid_body");
    await expectHttpError(
      await adminRequest("PATCH", path, { token, body: { token_endpoint_auth_method: "private_key_jwt" } }),
      400,
      "invalid_body",
    );
  });

  it("rotate-secret: the new secret works, the old one is invalid_client, the old tokens are revoked", async () => {
    const orgId = await createTestOrg();
    const created = await createClient(orgId);
    await accessToken(created.client_id, created.client_secret as string);
    const response = await adminRequest("POST", `/orgs/${orgId}/clients/${created.client_id}/rotate-secret`, { token });
    expect(response.status).toBe(200);
    const rotated = (await response.json()) as ClientBody;
    expect(rotated.client_secret).toMatch(/^mas_/);
    expect(rotated.client_secret).not.toBe(created.client_secret);
    await expectOAuthError(
      await clientCredentials(created.client_id, created.client_secret as string),
      401,
      "invalid_client",
    );
    await accessToken(created.client_id, rotated.client_secret as string);
    expect(await clientRevocations(orgId)).toEqual([created.client_id]);
  });

  it("rotate-secret of a secret client with keys in the body: 400 invalid_body, the secret unchanged and nothing revoked", async () => {
    const orgId = await createTestOrg();
    const created = await createClient(orgId);
    const path = `/orgs/${orgId}/clients/${created.client_id}/rotate-secret`;
    const { publicKey } = await generateKeyPair("ES256");
    const problem = await expectHttpError(
      await adminRequest("POST", path, { token, body: { jwks: { keys: [await exportJWK(publicKey)] } } }),
      400,
      "invalid_body",
    );
    expect(problem.detail).toMatch(/^jwks: /);
    await accessToken(created.client_id, created.client_secret as string);
    expect(await clientRevocations(orgId)).toEqual([]);
    // An empty object, as no body, rotates.
    expect((await adminRequest("POST", path, { token, body: {} })).status).toBe(200);
  });

  it("rotate-secret for a private_key_jwt client replaces its keys", async () => {
    const orgId = await createTestOrg();
    const first = await generateKeyPair("ES256");
    const created = await createClient(orgId, {
      ...NEW_CLIENT,
      token_endpoint_auth_method: "private_key_jwt",
      jwks: { keys: [{ ...(await exportJWK(first.publicKey)), kid: "old" }] },
    });
    const second = await generateKeyPair("EdDSA");
    const path = `/orgs/${orgId}/clients/${created.client_id}/rotate-secret`;
    await expectHttpError(await adminRequest("POST", path, { token, body: {} }), 400, "invalid_body");
    const response = await adminRequest("POST", path, {
      token,
      body: { jwks: { keys: [{ ...(await exportJWK(second.publicKey)), kid: "new" }] } },
    });
    expect(response.status).toBe(200);
    const rotated = (await response.json()) as ClientBody & { jwks: { keys: { kid: string }[] } };
    expect(rotated.client_secret).toBeUndefined();
    expect(rotated.jwks.keys.map((k) => k.kid)).toEqual(["new"]);
  });

  it("disable: recorded as a client revocation before success, and the client no longer authenticates", async () => {
    const orgId = await createTestOrg();
    const created = await createClient(orgId);
    await accessToken(created.client_id, created.client_secret as string);
    const response = await adminRequest("POST", `/orgs/${orgId}/clients/${created.client_id}/disable`, { token });
    expect(response.status).toBe(200);
    expect(((await response.json()) as ClientBody).status).toBe("disabled");
    expect(await clientRevocations(orgId)).toEqual([created.client_id]);
    await expectOAuthError(
      await clientCredentials(created.client_id, created.client_secret as string),
      401,
      "invalid_client",
    );
  });

  it("delete: recorded as a client revocation, then gone", async () => {
    const orgId = await createTestOrg();
    const created = await createClient(orgId);
    const path = `/orgs/${orgId}/clients/${created.client_id}`;
    const response = await adminRequest("DELETE", path, { token });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ client_id: created.client_id, deleted: true });
    expect(await clientRevocations(orgId)).toEqual([created.client_id]);
    await expectHttpError(await adminRequest("GET", path, { token }), 404, "not_found");
    await expectOAuthError(
      await clientCredentials(created.client_id, created.client_secret as string),
      401,
      "invalid_client",
    );
  });
});

describe("admin API: token policy", () => {
  it("shows the defaults, replaces the policy whole, and the next mint follows it", async () => {
    const orgId = await createTestOrg();
    const path = `/orgs/${orgId}/token-policy`;
    expect(await (await adminRequest("GET", path, { token })).json()).toMatchObject({
      org_id: orgId,
      default: true,
      max_ttl_machine_seconds: null,
      allowed_audiences: null,
      scope_ceiling: null,
      max_delegation_depth: 2,
      require_dpop_for_agents: false,
      mints_per_minute_per_client: 600,
    });
    const put = await adminRequest("PUT", path, {
      token,
      body: {
        max_ttl_machine_seconds: 120,
        allowed_audiences: [AUDIENCE],
        scope_ceiling: "documents:read",
        mints_per_minute_per_client: 50,
      },
    });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({
      default: false,
      max_ttl_machine_seconds: 120,
      allowed_audiences: [AUDIENCE],
      scope_ceiling: ["documents:read"],
      max_delegation_depth: 2,
      mints_per_minute_per_client: 50,
    });
    const created = await createClient(orgId);
    const minted = await clientCredentials(created.client_id, created.client_secret as string);
    expect(((await minted.json()) as { expires_in: number }).expires_in).toBe(120);
    // Whole replacement: what is left out goes back to its default.
    const again = await adminRequest("PUT", path, { token, body: { max_delegation_depth: 1 } });
    expect(await again.json()).toMatchObject({
      max_ttl_machine_seconds: null,
      max_delegation_depth: 1,
      mints_per_minute_per_client: 600,
    });
  });

  it("400 invalid_body for a policy that would widen the issuer's limits or is malformed", async () => {
    const orgId = await createTestOrg();
    for (const body of [
      { allowed_audiences: ["https://not-served.example/api"] },
      { scope_ceiling: ["admin"] },
      { max_ttl_agent_seconds: 999_999 },
      { max_delegation_depth: 9 },
      { mints_per_minute_per_client: 0 },
      { require_dpop_for_agents: "yes" },
      { unknown: true },
    ]) {
      await expectHttpError(
        await adminRequest("PUT", `/orgs/${orgId}/token-policy`, { token, body }),
        400,
        "invalid_body",
      );
    }
  });
});
