// RFC 9110 §15.5.6 on the token Worker (shared/http/unsupported-methods.ts):
// a path it serves, asked with another method, is 405 with Allow; an
// unknown path stays 404; the admin API's 405 is a problem document, after
// the operator is authenticated.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { expectOAuthError } from "./fixtures.ts";

const call = (method: string, path: string) =>
  exports.default.fetch(new Request(`http://localhost${path}`, { method }));

describe("a method a path does not take", () => {
  it("is 405 method_not_allowed with Allow naming what the path takes", async () => {
    const cases: [method: string, path: string, allow: string][] = [
      ["GET", ENDPOINT.token, "POST"],
      ["PUT", ENDPOINT.revocation, "POST"],
      ["DELETE", ENDPOINT.introspection, "POST"],
      ["OPTIONS", ENDPOINT.hostBootstrap, "POST"],
      ["POST", ENDPOINT.jwks, "GET, HEAD"],
      ["PATCH", ENDPOINT.authorizationServerMetadata, "GET, HEAD"],
      ["DELETE", ENDPOINT.openIdConfiguration, "GET, HEAD"],
    ];
    for (const [method, path, allow] of cases) {
      const response = await call(method, path);
      await expectOAuthError(response, 405, "method_not_allowed");
      expect(response.headers.get("Allow"), `${method} ${path}`).toBe(allow);
    }
  });

  it("leaves HEAD on a GET path served, and an unknown path 404", async () => {
    const head = await call("HEAD", ENDPOINT.jwks);
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    await expectOAuthError(await call("POST", "/no/such/path"), 404, "not_found");
  });

  it("on the admin API: 401 before the operator is known, then a 405 problem document", async () => {
    const anonymous = await adminRequest("DELETE", "/orgs");
    expect(anonymous.status).toBe(401);
    const response = await adminRequest("DELETE", "/orgs", { token: await adminToken() });
    await expectHttpError(response, 405, "method_not_allowed");
    expect(response.headers.get("Allow")).toBe("GET, HEAD, POST");
  });
});
