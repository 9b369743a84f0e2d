// RFC 7009 revocation, RFC 7662 introspection and RFC 9449 DPoP with a
// client we did not write (oauth4webapi, unmodified), against the whole
// system over HTTP: clients registered through the admin API, tokens from
// client_credentials, protected calls through the gateway.
import * as oauth from "oauth4webapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { DPOP_SIGNING_ALGS } from "../../shared/contracts/tokens.ts";
import { INSECURE, type InteropOperator, interopOperator } from "../support/interop.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

let system: RunningSystem;
let as: oauth.AuthorizationServer;
let operator: InteropOperator;
let orgId: string;

interface RegisteredClient {
  client: oauth.Client;
  auth: oauth.ClientAuth;
}

async function registerClient(body: Record<string, unknown> = {}): Promise<RegisteredClient> {
  const created = await operator.registerClient(orgId, body);
  return { client: { client_id: created.client_id }, auth: oauth.ClientSecretBasic(created.client_secret as string) };
}

async function clientToken(
  { client, auth }: RegisteredClient,
  options: { DPoP?: oauth.DPoPHandle; parameters?: Record<string, string> } = {},
): Promise<oauth.TokenEndpointResponse> {
  const request = () =>
    oauth.clientCredentialsGrantRequest(as, client, auth, options.parameters ?? {}, {
      ...INSECURE,
      DPoP: options.DPoP,
    });
  try {
    return await oauth.processClientCredentialsResponse(as, client, await request());
  } catch (error) {
    // RFC 9449 §8: the first DPoP request learns the server's nonce; the handle keeps it.
    if (!oauth.isDPoPNonceError(error)) throw error;
    return oauth.processClientCredentialsResponse(as, client, await request());
  }
}

async function introspect({ client, auth }: RegisteredClient, token: string): Promise<oauth.IntrospectionResponse> {
  return oauth.processIntrospectionResponse(
    as,
    client,
    await oauth.introspectionRequest(as, client, auth, token, INSECURE),
  );
}

async function revoke({ client, auth }: RegisteredClient, token: string): Promise<undefined> {
  return oauth.processRevocationResponse(await oauth.revocationRequest(as, client, auth, token, INSECURE));
}

function documents(authorization: string, headers: Record<string, string> = {}): Promise<Response> {
  return system.fetch(ENDPOINT.documents, { headers: { Authorization: authorization, ...headers } });
}

/** The stable code the gateway names in its challenge (`ERR_…: text`). */
async function refusalCode(response: Response): Promise<string | undefined> {
  if (response.status === 200) {
    await response.body?.cancel();
    return "allowed";
  }
  return ((await response.json()) as { error_description?: string }).error_description?.split(":")[0];
}

beforeAll(async () => {
  system = await startSystem({ gatewayVars: { REVOCATION_MAX_STALENESS_MS: "1000" } });
  operator = await interopOperator(system);
  as = operator.as;
  orgId = await operator.createOrg("Revocation interop");
});
afterAll(() => system?.close());

describe("revocation, introspection and DPoP with oauth4webapi", () => {
  it("discovers both endpoints, the methods that authenticate there, and the DPoP algorithms", () => {
    expect(as.revocation_endpoint).toBe(`${system.origin}${ENDPOINT.revocation}`);
    expect(as.introspection_endpoint).toBe(`${system.origin}${ENDPOINT.introspection}`);
    expect(as.revocation_endpoint_auth_methods_supported).not.toContain("none");
    expect(as.introspection_endpoint_auth_methods_supported).toContain("client_secret_basic");
    expect(as.dpop_signing_alg_values_supported).toEqual([...DPOP_SIGNING_ALGS]);
  });

  it("introspects: active for the token's client and its org's resource server, inactive for anyone else", async () => {
    const owner = await registerClient();
    const server = await registerClient({ client_type: "service", resource_server: true });
    const stranger = await registerClient();
    const { access_token } = await clientToken(owner);

    const own = await introspect(owner, access_token);
    expect(own).toMatchObject({
      active: true,
      client_id: owner.client.client_id,
      sub: owner.client.client_id,
      iss: system.origin,
      scope: "documents:read",
      token_type: "Bearer",
      org_id: orgId,
    });
    expect(await introspect(server, access_token)).toMatchObject({ active: true });
    expect(await introspect(stranger, access_token)).toEqual({ active: false });
    expect(await introspect(owner, "not-a-token")).toEqual({ active: false });
  });

  it("revokes: recorded before the answer, inactive at once, refused at the gateway within the staleness bound", async () => {
    const owner = await registerClient();
    const { access_token } = await clientToken(owner);
    expect(await refusalCode(await documents(`Bearer ${access_token}`))).toBe("allowed");

    await expect(revoke(owner, access_token)).resolves.toBeUndefined();
    expect(await introspect(owner, access_token)).toEqual({ active: false });
    await expect.poll(async () => refusalCode(await documents(`Bearer ${access_token}`))).toBe("ERR_TOKEN_REVOKED");
    // Unknown tokens are answered 200 too (RFC 7009 §2.2).
    await expect(revoke(owner, "not-a-token")).resolves.toBeUndefined();
  });

  it("refuses to revoke another client's token with an error oauth4webapi parses", async () => {
    const owner = await registerClient();
    const stranger = await registerClient();
    const { access_token } = await clientToken(owner);
    const error = await revoke(stranger, access_token).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(oauth.ResponseBodyError);
    expect((error as oauth.ResponseBodyError).error).toBe("unauthorized_client");
    expect(await introspect(owner, access_token)).toMatchObject({ active: true });
  });

  it("binds a token to the client's DPoP key; the gateway wants the proof, and revocation holds for it too", async () => {
    const agent = await registerClient({ client_type: "agent", dpop_bound_access_tokens: true });
    // A client that must use DPoP gets nothing without a proof.
    const unbound = await clientToken(agent).catch((e: unknown) => e);
    expect((unbound as oauth.ResponseBodyError).error).toBe("invalid_dpop_proof");

    const keyPair = await oauth.generateKeyPair("ES256");
    const DPoP = oauth.DPoP(agent.client, keyPair);
    const grant = await clientToken(agent, { DPoP });
    expect(grant.token_type).toBe("dpop");
    const introspected = await introspect(agent, grant.access_token);
    expect(introspected).toMatchObject({ active: true, token_type: "DPoP" });
    expect(introspected.cnf?.jkt).toEqual(expect.any(String));

    const call = () =>
      oauth.protectedResourceRequest(
        grant.access_token,
        "GET",
        new URL(`${system.origin}${ENDPOINT.documents}`),
        undefined,
        undefined,
        { ...INSECURE, DPoP },
      );
    const allowed = await call();
    expect(allowed.status).toBe(200);
    await allowed.body?.cancel();
    // Without the proof, as a bearer token: refused.
    expect(await refusalCode(await documents(`Bearer ${grant.access_token}`))).toBe("ERR_DPOP_SCHEME");
    expect(await refusalCode(await documents(`DPoP ${grant.access_token}`))).toBe("ERR_DPOP_MISSING");

    await revoke(agent, grant.access_token);
    await expect
      .poll(async () => {
        const response = await call().catch((e: unknown) => e);
        return response instanceof oauth.WWWAuthenticateChallengeError
          ? response.cause[0]?.parameters.error_description?.split(":")[0]
          : "allowed";
      })
      .toBe("ERR_TOKEN_REVOKED");
  });
});
