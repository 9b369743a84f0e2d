// RFC 6749 §3.1 and §3.2: "Parameters sent without a value MUST be treated as
// if they were omitted from the request." An empty `client_secret=` or
// `client_assertion_type=` beside HTTP Basic was counted as a second
// authentication method (400 invalid_request), and an empty `client_id=` as
// another client, at the token, revocation and introspection endpoints; the
// form reader now leaves such parameters out (workers/token/src/http/read-form.ts).
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { GRANT_TYPE } from "../../shared/contracts/tokens.ts";
import {
  assertionParams,
  basicAuthorization,
  clientAssertion,
  clientToken,
  registerTestClient,
} from "./clients-fixtures.ts";
import { expectOAuthError, formRequest, tokenRequest } from "./fixtures.ts";

const CLIENT_CREDENTIALS = `grant_type=${GRANT_TYPE.clientCredentials}`;

describe("a parameter sent without a value is as if omitted (RFC 6749 §3.1)", () => {
  it("token endpoint: an empty client_secret, client_assertion_type or client_id beside Basic is not a second method", async () => {
    const client = await registerTestClient();
    const headers = { Authorization: basicAuthorization(client.clientId, client.secret) };
    for (const empty of ["client_secret=", "client_assertion_type=", "client_assertion=", "client_id="]) {
      const response = await tokenRequest(`${CLIENT_CREDENTIALS}&${empty}`, { headers });
      expect(response.status, empty).toBe(200);
    }
    // Sent with a value, a second method is still refused (§2.3).
    await expectOAuthError(
      await tokenRequest(`${CLIENT_CREDENTIALS}&client_secret=x`, { headers }),
      400,
      "invalid_request",
    );
  });

  it("token endpoint: an empty client_id beside a client assertion does not name another client", async () => {
    const client = await registerTestClient({ authMethod: "private_key_jwt" });
    const response = await tokenRequest({ ...assertionParams(await clientAssertion(client)), client_id: "" });
    expect(response.status).toBe(200);
  });

  it("an empty parameter beside the same one with a value is not a repeat", async () => {
    const client = await registerTestClient();
    const headers = { Authorization: basicAuthorization(client.clientId, client.secret) };
    const response = await tokenRequest(`${CLIENT_CREDENTIALS}&scope=&scope=documents:read`, { headers });
    expect(response.status).toBe(200);
    // An empty grant_type is still a missing one.
    await expectOAuthError(await tokenRequest("grant_type=", { headers }), 400, "invalid_request");
  });

  it("revocation and introspection: an empty client_secret beside Basic is not a second method", async () => {
    const client = await registerTestClient();
    const headers = { Authorization: basicAuthorization(client.clientId, client.secret) };
    const token = await clientToken(client);
    const body = `token=${encodeURIComponent(token)}&client_secret=&token_type_hint=`;
    expect((await formRequest(ENDPOINT.introspection, body, { headers })).status).toBe(200);
    expect((await formRequest(ENDPOINT.revocation, body, { headers })).status).toBe(200);
  });
});
