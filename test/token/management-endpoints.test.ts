// What the revocation (RFC 7009) and introspection (RFC 7662) endpoints do
// alike before they look at the token (presented-tokens/management-request.ts):
// each case runs at both.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { MAX_TOKEN_REQUEST_BYTES } from "../../workers/token/src/http/read-form.ts";
import { basicAuthorization, registerTestClient, clientToken } from "./clients-fixtures.ts";
import { expectOAuthError, freshClientAddress, streamedBody } from "./fixtures.ts";
import { type Credentials, managementRequest, revokedJtis } from "./revocation-fixtures.ts";

describe.each([ENDPOINT.revocation, ENDPOINT.introspection])("POST %s", (path) => {
  it("authenticates the client: none, a wrong secret or a public client is invalid_client (401, Basic challenge)", async () => {
    const client = await registerTestClient();
    const token = await clientToken(client);
    const cases: Credentials[] = [
      { headers: {} },
      { headers: { Authorization: `Basic ${btoa(`${client.clientId}:wrong`)}` } },
      { headers: {}, params: { client_id: "mono-auth-web" } },
    ];
    for (const credentials of cases) {
      const response = await managementRequest(path, { token }, credentials);
      await expectOAuthError(response, 401, "invalid_client");
      expect(response.headers.get("WWW-Authenticate")).toMatch(/^Basic /);
    }
    // A refused request is no answer about the token, and revokes nothing.
    expect(await revokedJtis(client.orgId as string)).toEqual([]);
  });

  it("needs the token parameter (invalid_request) and POST (405)", async () => {
    const client = await registerTestClient();
    await expectOAuthError(await managementRequest(path, {}, { client }), 400, "invalid_request");
    const get = await exports.default.fetch(`http://localhost${path}`);
    expect(get.status).toBe(405);
    expect(((await get.json()) as { error: string }).error).toBe("method_not_allowed");
  });

  it("413 for a body over the cap, streamed or declared", async () => {
    const client = await registerTestClient();
    const request = (body: BodyInit) =>
      exports.default.fetch(
        new Request(`http://localhost${path}`, {
          method: "POST",
          headers: {
            "Content-Type": "application/x-www-form-urlencoded",
            "cf-connecting-ip": freshClientAddress(),
            Authorization: basicAuthorization(client.clientId, client.secret),
          },
          body,
        }),
      );
    for (const body of [streamedBody(MAX_TOKEN_REQUEST_BYTES + 1), `token=${"a".repeat(MAX_TOKEN_REQUEST_BYTES)}`]) {
      const response = await request(body);
      expect(response.status).toBe(413);
      expect(((await response.json()) as { error: string }).error).toBe("payload_too_large");
    }
  });
});

it("advertises both endpoints with the token endpoint's methods that authenticate", async () => {
  const response = await exports.default.fetch(`http://localhost${ENDPOINT.authorizationServerMetadata}`);
  const metadata = (await response.json()) as Record<string, unknown>;
  expect(metadata.revocation_endpoint).toBe(`${env.ISSUER}${ENDPOINT.revocation}`);
  expect(metadata.introspection_endpoint).toBe(`${env.ISSUER}${ENDPOINT.introspection}`);
  const authenticating = (metadata.token_endpoint_auth_methods_supported as string[]).filter((m) => m !== "none");
  expect(metadata.revocation_endpoint_auth_methods_supported).toEqual(authenticating);
  expect(metadata.introspection_endpoint_auth_methods_supported).toEqual(authenticating);
});
