// Dynamic Client Registration (RFC 7591), which the MCP authorization
// specification now deprecates. Off by default for every org (Better Auth's
// allowDynamicClientRegistration is false in
// workers/authn/src/auth/plugins/oauth-provider.ts): the metadata advertises
// no registration endpoint, and a registration request at either spelling of
// the issuer-wide path registers nothing; Client ID Metadata Documents are
// advertised instead. An org's operator may open its own endpoint,
// /oauth2/register/<org> (`mono-auth org set <org> --dcr on`), and close it again.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { interopOperator } from "../support/interop.ts";
import { operatorCli } from "../support/operator-cli.ts";
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

describe("an org's own registration endpoint, opened and closed with the CLI", () => {
  it("mono-auth org set ORG --dcr on: the org's MCP clients register through the gateway (201); --dcr off: 403 ERR_DCR_DISABLED", async () => {
    const operator = await operatorCli(system, "dcr");
    const orgId = (await operator.json<{ id: string }>("org", "create", "--name", "dcr-org")).id;
    const register = () =>
      system.fetch(`${ENDPOINT.clientRegistration}/${orgId}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(REGISTRATION),
      });
    const closed = await register();
    expect(closed.status).toBe(403);
    expect(await closed.json()).toMatchObject({
      error: "access_denied",
      error_description: expect.stringMatching(/^ERR_DCR_DISABLED:/),
    });

    const on = await operator.json<{ dynamic_client_registration: boolean; registration_endpoint: string }>(
      ...["org", "set", orgId, "--dcr", "on"],
    );
    expect(on).toMatchObject({
      dynamic_client_registration: true,
      registration_endpoint: `${system.origin}${ENDPOINT.clientRegistration}/${orgId}`,
    });
    const registered = await register();
    expect(registered.status).toBe(201);
    expect(await registered.json()).toMatchObject({
      client_id: expect.stringMatching(/^oidc_/),
      redirect_uris: REGISTRATION.redirect_uris,
      token_endpoint_auth_method: "none",
    });

    const off = await operator.cli("org", "set", orgId, "--dcr", "off");
    expect(off.code).toBe(0);
    expect(off.stdout).toContain("off");
    expect((await register()).status).toBe(403);

    const wrong = await operator.cli("org", "set", orgId, "--dcr", "maybe");
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain("--dcr must be on or off");
  });
});
