// Clients we did not write, unmodified, against the whole system over HTTP:
// oauth4webapi (discovery, client_credentials with client_secret_basic,
// client_secret_post and private_key_jwt, RFC 9068 validation) and the MCP
// TypeScript SDK's ClientCredentialsProvider and PrivateKeyJwtProvider. The
// clients are registered through the admin API, as an operator would, with
// an operator token obtained by client credentials.
import { fetchToken } from "@modelcontextprotocol/sdk/client/auth.js";
import { ClientCredentialsProvider, PrivateKeyJwtProvider } from "@modelcontextprotocol/sdk/client/auth-extensions.js";
import type { AuthorizationServerMetadata } from "@modelcontextprotocol/sdk/shared/auth.js";
import { decodeJwt, exportJWK, generateKeyPair } from "jose";
import * as oauth from "oauth4webapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { GRANT_TYPE } from "../../shared/contracts/tokens.ts";
import {
  type CreatedClient,
  INSECURE,
  type InteropOperator,
  interopOperator,
  type JwksServer,
  startJwksServer,
} from "../support/interop.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

let system: RunningSystem;
let operator: InteropOperator;
let as: oauth.AuthorizationServer;
let orgId: string;
/** Serves a client's JWKS on the loopback interface, for a jwks_uri client. */
let jwksServer: JwksServer;

function registerClient(body: Record<string, unknown>): Promise<CreatedClient> {
  return operator.registerClient(orgId, body);
}

/**
 * oauth4webapi surfaces a 401 that carries a `WWW-Authenticate` challenge (RFC
 * 6749 §5.2 asks for one after HTTP Basic) as a challenge error; the RFC
 * 6749 body is still there to parse.
 */
async function expectInvalidClient(attempt: Promise<unknown>) {
  const error = await attempt.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(oauth.WWWAuthenticateChallengeError);
  const challenge = error as oauth.WWWAuthenticateChallengeError;
  expect(challenge.status).toBe(401);
  expect(challenge.cause[0]).toMatchObject({ scheme: "basic", parameters: { realm: "mono-auth" } });
  expect(((await challenge.response.json()) as { error: string }).error).toBe("invalid_client");
}

/**
 * The MCP SDK's own token request (`fetchToken`, which its `auth()` runs for
 * non-interactive providers), given the metadata we discovered: `auth()`'s
 * discovery step validates the metadata against a schema that requires
 * `authorization_endpoint`, which RFC 8414 §2 requires only of a server with
 * a grant that uses one, and this issuer has none.
 */
async function mcpToken(provider: ClientCredentialsProvider | PrivateKeyJwtProvider): Promise<string> {
  const tokens = await fetchToken(provider, new URL(system.origin), {
    // Our metadata, as discovered: the type demands authorization_endpoint.
    metadata: as as unknown as AuthorizationServerMetadata,
  });
  return tokens.access_token;
}

async function clientCredentials(
  clientId: string,
  clientAuth: oauth.ClientAuth,
  parameters: Record<string, string> = {},
) {
  const client: oauth.Client = { client_id: clientId };
  const response = await oauth.clientCredentialsGrantRequest(as, client, clientAuth, parameters, INSECURE);
  return oauth.processClientCredentialsResponse(as, client, response);
}

beforeAll(async () => {
  system = await startSystem({ gatewayVars: { REVOCATION_MAX_STALENESS_MS: "1000" } });
  operator = await interopOperator(system);
  as = operator.as;
  orgId = await operator.createOrg("Interop");
  jwksServer = await startJwksServer();
});

afterAll(async () => {
  await jwksServer?.close();
  await system?.close();
});

describe("oauth4webapi", () => {
  it("discovers the issuer: client_credentials, the three client authentication methods, asymmetric assertion algorithms", () => {
    expect(as.issuer).toBe(system.origin);
    expect(as.grant_types_supported).toContain(GRANT_TYPE.clientCredentials);
    expect(as.token_endpoint_auth_methods_supported).toEqual(
      expect.arrayContaining(["client_secret_basic", "client_secret_post", "private_key_jwt"]),
    );
    expect(as.token_endpoint_auth_signing_alg_values_supported).toEqual(["ES256", "RS256", "EdDSA"]);
  });

  it("client_credentials with client_secret_basic; the token validates as RFC 9068 at the API audience", async () => {
    const client = await registerClient({});
    const grant = await clientCredentials(client.client_id, oauth.ClientSecretBasic(client.client_secret as string));
    expect(grant.token_type).toBe("bearer");
    expect(grant.scope).toBe("documents:read");
    const request = new Request(`${system.origin}/api/echo`, {
      headers: { Authorization: `Bearer ${grant.access_token}` },
    });
    const claims = await oauth.validateJwtAccessToken(as, request, `${system.origin}/api`, INSECURE);
    expect(claims).toMatchObject({ sub: client.client_id, client_id: client.client_id, org_id: orgId });
  });

  it("client_credentials with client_secret_post", async () => {
    const client = await registerClient({ token_endpoint_auth_method: "client_secret_post" });
    const grant = await clientCredentials(client.client_id, oauth.ClientSecretPost(client.client_secret as string));
    expect(decodeJwt(grant.access_token).sub).toBe(client.client_id);
  });

  it("client_credentials with private_key_jwt, keys registered inline", async () => {
    const { publicKey, privateKey } = await generateKeyPair("ES256");
    const client = await registerClient({
      token_endpoint_auth_method: "private_key_jwt",
      jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: "inline-1" }] },
    });
    const grant = await clientCredentials(client.client_id, oauth.PrivateKeyJwt({ key: privateKey, kid: "inline-1" }));
    expect(decodeJwt(grant.access_token).sub).toBe(client.client_id);
  });

  it("client_credentials with private_key_jwt, keys fetched from the client's jwks_uri", async () => {
    const { publicKey, privateKey } = await generateKeyPair("RS256");
    jwksServer.serve({ keys: [{ ...(await exportJWK(publicKey)), kid: "remote-1", alg: "RS256", use: "sig" }] });
    const client = await registerClient({
      token_endpoint_auth_method: "private_key_jwt",
      jwks_uri: `${jwksServer.origin}/jwks.json`,
    });
    const grant = await clientCredentials(client.client_id, oauth.PrivateKeyJwt({ key: privateKey, kid: "remote-1" }));
    expect(decodeJwt(grant.access_token).sub).toBe(client.client_id);
  });

  it("gets invalid_client it can parse for a wrong secret", async () => {
    const client = await registerClient({});
    await expectInvalidClient(clientCredentials(client.client_id, oauth.ClientSecretBasic("wrong")));
  });
});

describe("the MCP TypeScript SDK's machine-to-machine providers", () => {
  it("ClientCredentialsProvider obtains a token from our issuer", async () => {
    const client = await registerClient({});
    const provider = new ClientCredentialsProvider({
      clientId: client.client_id,
      clientSecret: client.client_secret as string,
      expectedIssuer: system.origin,
    });
    expect(decodeJwt(await mcpToken(provider))).toMatchObject({
      sub: client.client_id,
      org_id: orgId,
      aud: `${system.origin}/api`,
    });
  });

  it("PrivateKeyJwtProvider obtains a token from our issuer", async () => {
    const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
    const client = await registerClient({
      client_type: "agent",
      token_endpoint_auth_method: "private_key_jwt",
      jwks: { keys: [await exportJWK(publicKey)] },
    });
    const provider = new PrivateKeyJwtProvider({
      clientId: client.client_id,
      privateKey: (await exportJWK(privateKey)) as Record<string, unknown>,
      algorithm: "ES256",
      expectedIssuer: system.origin,
    });
    expect(decodeJwt(await mcpToken(provider)).sub).toBe(client.client_id);
  });
});

describe("disabling a client over the admin API", () => {
  it("revokes its tokens at the gateway within the staleness bound, and it can mint no more", async () => {
    const client = await registerClient({});
    const secret = oauth.ClientSecretBasic(client.client_secret as string);
    const { access_token } = await clientCredentials(client.client_id, secret);
    const echo = () => system.fetch("/api/echo", { headers: { Authorization: `Bearer ${access_token}` } });
    expect((await echo()).status).toBe(200);

    const disabled = await operator.admin("POST", `/orgs/${orgId}/clients/${client.client_id}/disable`);
    expect(disabled.status).toBe(200);
    await expect
      .poll(async () => {
        const response = await echo();
        return [
          response.status,
          ((await response.json()) as { error_description?: string }).error_description?.split(":")[0],
        ];
      })
      .toEqual([401, "ERR_TOKEN_REVOKED"]);
    await expectInvalidClient(clientCredentials(client.client_id, secret));
  });

  it("the admin API answers through the gateway with a Bearer challenge without a token", async () => {
    const response = await system.fetch(`${ENDPOINT.admin}/orgs`);
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toBe('Bearer realm="mono-auth"');
  });
});
