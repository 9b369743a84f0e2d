import { env, exports } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { mcpResource } from "../../shared/contracts/mcp.ts";
import { pkce, REDIRECT_URI } from "../support/runtime/browser-oidc.ts";
import { API, ISSUER, oidc } from "./oidc-fixture.ts";
import { adminRequest } from "./admin-fixtures.ts";
import { createTestOrg } from "./clients-fixtures.ts";
import { operatorToken } from "./mcp-access-fixtures.ts";

// An org's registered MCP servers as RFC 8707 resources of the browser flow
// (workers/authn/src/mcp-clients/org-resources.ts): a person may authorize a
// client for `<issuer>/mcp/<name>` while their active org has that server
// active; another org's server, or one nobody registered, is invalid_target.

let operator: string;
beforeAll(async () => {
  operator = await operatorToken();
});

async function registerServer(orgId: string, name: string): Promise<string> {
  const response = await adminRequest("POST", `/orgs/${orgId}/mcp-servers`, {
    token: operator,
    body: {
      name,
      upstream: `https://${name}.example.com/mcp`,
      scopes: ["documents:read"],
      tools: [{ name: "search", sensitivity: "normal" }],
      description: "an org's own MCP server",
      owner: "platform@example.com",
    },
  });
  expect(response.status).toBe(201);
  return mcpResource(ISSUER, name);
}

/** What an MCP client asks for: the server's scope, no openid, so the token's audience is exactly the resource. */
function mcpCodeRequest(clientId: string, challenge: string, resource: string) {
  return oidc.codeRequest(clientId, challenge, { scope: "documents:read", nonce: undefined, resource });
}

function redirectedError(response: Response) {
  const location = new URL(response.headers.get("Location") ?? "", ISSUER);
  return {
    status: response.status,
    to: `${location.origin}${location.pathname}`,
    error: location.searchParams.get("error"),
    iss: location.searchParams.get("iss"),
    state: location.searchParams.get("state"),
  };
}

const name = (what: string) => `${what}-${crypto.randomUUID().slice(0, 8)}`;

describe("browser flow: an org's registered MCP servers are resources for its people", () => {
  it("a server of the person's active org: consent, code, and a token whose aud is exactly that server", async () => {
    const person = await oidc.signUp();
    const resource = await registerServer(person.orgId, name("notes"));
    // An operator-registered client linked only to the API audience (oidcDriver.browserClient).
    const client = await oidc.browserClient();
    const { verifier, challenge } = await pkce();
    const back = await oidc.authorizeAndConsent(mcpCodeRequest(client.clientId, challenge, resource), person.cookie);
    expect(back.searchParams.get("iss")).toBe(ISSUER);
    const response = await oidc.tokenRequest(
      {
        grant_type: "authorization_code",
        code: back.searchParams.get("code") ?? "",
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
        resource,
      },
      client,
    );
    expect(response.status, await response.clone().text()).toBe(200);
    const { access_token } = (await response.json()) as { access_token: string };
    expect(decodeJwt(access_token)).toMatchObject({ aud: resource, org_id: person.orgId, sub: person.userId });
  });

  it("another org's server is invalid_target at authorize (RFC 8707 §2), sent back with state and iss", async () => {
    const person = await oidc.signUp();
    const resource = await registerServer(await createTestOrg(), name("ledger"));
    const client = await oidc.browserClient();
    const { challenge } = await pkce();
    const request = mcpCodeRequest(client.clientId, challenge, resource);
    const answer = redirectedError(await oidc.authorize(request, person.cookie));
    expect(answer).toEqual({
      status: 302,
      to: REDIRECT_URI,
      error: "invalid_target",
      iss: ISSUER,
      state: request.state,
    });
  });

  it("a server no org registered is invalid_target at authorize", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const { challenge } = await pkce();
    const request = mcpCodeRequest(client.clientId, challenge, mcpResource(ISSUER, name("nowhere")));
    const answer = redirectedError(await oidc.authorize(request, person.cookie));
    expect(answer).toMatchObject({ status: 302, to: REDIRECT_URI, error: "invalid_target", iss: ISSUER });
  });

  it("not signed in yet: the request goes to sign-in (decided once the org is known), not refused", async () => {
    const person = await oidc.signUp();
    const resource = await registerServer(person.orgId, name("wiki"));
    const client = await oidc.browserClient();
    const { challenge } = await pkce();
    const response = await oidc.authorize(mcpCodeRequest(client.clientId, challenge, resource), "");
    expect(response.status).toBe(302);
    expect(new URL(response.headers.get("Location") ?? "", ISSUER).pathname).toBe(ENDPOINT.signIn);
  });

  it("a server the org disabled after consent: the code redeems to invalid_target at the token endpoint", async () => {
    const person = await oidc.signUp();
    const serverName = name("crm");
    const resource = await registerServer(person.orgId, serverName);
    const client = await oidc.browserClient();
    const { verifier, challenge } = await pkce();
    const back = await oidc.authorizeAndConsent(mcpCodeRequest(client.clientId, challenge, resource), person.cookie);
    const disabled = await adminRequest("PATCH", `/orgs/${person.orgId}/mcp-servers/${serverName}`, {
      token: operator,
      body: { status: "disabled" },
    });
    expect(disabled.status).toBe(200);
    const response = await oidc.tokenRequest(
      {
        grant_type: "authorization_code",
        code: back.searchParams.get("code") ?? "",
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
        resource,
      },
      client,
    );
    expect({ status: response.status, error: ((await response.json()) as { error: string }).error }).toEqual({
      status: 400,
      error: "invalid_target",
    });
  });
});
