// RFC 6749 §5.1: the token, revocation and introspection endpoints answer
// with `Cache-Control: no-store` and `Pragma: no-cache`, whatever writes the
// answer. A 413 over the body cap and the 405 of another method went out
// with `no-store` alone (shared/errors/http.ts writes no Pragma); the
// endpoints now set both on the way out (workers/token/src/http/no-store.ts).
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { basicAuthorization, registerTestClient } from "./clients-fixtures.ts";
import { expectOAuthError, formRequest, freshClientAddress } from "./fixtures.ts";

const ENDPOINTS = [ENDPOINT.token, ENDPOINT.revocation, ENDPOINT.introspection] as const;

function expectNeverCached(response: Response) {
  expect(response.headers.get("Cache-Control")).toBe("no-store");
  expect(response.headers.get("Pragma")).toBe("no-cache");
}

describe.each(ENDPOINTS)("%s is never cached (RFC 6749 §5.1)", (path) => {
  it("413 payload_too_large over the body cap carries Pragma: no-cache", async () => {
    const client = await registerTestClient();
    const response = await formRequest(path, `token=${"a".repeat(20_000)}`, {
      headers: { Authorization: basicAuthorization(client.clientId, client.secret) },
    });
    expectNeverCached(response);
    await expectOAuthError(response, 413, "payload_too_large");
  });

  it("405 method_not_allowed for GET carries Pragma: no-cache", async () => {
    const response = await exports.default.fetch(
      new Request(`http://localhost${path}`, { headers: { "cf-connecting-ip": freshClientAddress() } }),
    );
    expectNeverCached(response);
    expect(response.headers.get("Allow")).toBe("POST");
    await expectOAuthError(response, 405, "method_not_allowed");
  });

  it("an OAuth refusal still carries both, once each", async () => {
    const response = await formRequest(path, "token=x");
    expectNeverCached(response);
    await expectOAuthError(
      response,
      path === ENDPOINT.token ? 400 : 401,
      path === ENDPOINT.token ? "invalid_request" : "invalid_client",
    );
  });
});
