// How MCP clients may not onboard: Dynamic Client Registration (RFC 7591),
// which the MCP authorization specification now deprecates. It is off for
// every org (Better Auth's allowDynamicClientRegistration is false in
// workers/authn/src/auth/plugins/oauth-provider.ts; there is no per-org
// setting to turn it on): the metadata advertises no registration endpoint,
// and a registration request at either spelling of the path registers nothing;
// it advertises Client ID Metadata Documents instead.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { interopOperator } from "../support/interop.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

let system: RunningSystem;

const REGISTRATION = {
  client_name: "Drive-by MCP client",
  redirect_uris: ["https://mcp-client.example.test/callback"],
  grant_types: ["authorization_code"],
  response_types: ["code"],
  token_endpoint_auth_method: "none",
};

beforeAll(async () => {
  system = await startSystem();
}, 120_000);

afterAll(async () => {
  await system?.close();
});

describe("Dynamic Client Registration is off", () => {
  it("is not advertised: no registration_endpoint in either discovery document (RFC 8414 §2)", async () => {
    const { as } = await interopOperator(system);
    expect(as.registration_endpoint).toBeUndefined();
    const oidc = (await (await system.fetch("/.well-known/openid-configuration")).json()) as Record<string, unknown>;
    expect(oidc.registration_endpoint).toBeUndefined();
    // The registration MCP clients use instead (draft-ietf-oauth-client-id-metadata-document §5).
    expect(as.client_id_metadata_document_supported).toBe(true);
    expect(oidc.client_id_metadata_document_supported).toBe(true);
  });

  it("POST /oauth2/register on the issuer: 404 not_found, the gateway has no such public route", async () => {
    const response = await system.fetch("/oauth2/register", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(REGISTRATION),
    });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: "not_found", error_description: "no such route" });
  });

  it("POST to the provider's own registration path: 403 access_denied, registration is disabled", async () => {
    const response = await system.fetch(`${ENDPOINT.authApi}/oauth2/register`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Origin: system.origin },
      body: JSON.stringify(REGISTRATION),
    });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({
      error: "access_denied",
      error_description: "Client registration is disabled",
    });
  });
});
