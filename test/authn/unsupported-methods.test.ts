// RFC 9110 §15.5.6 on the authn Worker (shared/http/unsupported-methods.ts):
// its pages and Better Auth's API answer a method they do not take with 405
// and Allow, SCIM in its own error format (RFC 7644 §3.12); an unknown path
// stays 404.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { ORIGIN } from "./helpers.ts";
import { ERROR_SCHEMA, scim, scimOrg } from "./scim-helpers.ts";

const call = (method: string, path: string) =>
  exports.default.fetch(new Request(`${ORIGIN}${path}`, { method, redirect: "manual" }));

async function expectMethodNotAllowed(response: Response, allow: string) {
  expect(response.status).toBe(405);
  expect(response.headers.get("Allow")).toBe(allow);
  const body = (await response.json()) as { error: string };
  expect(body.error).toBe("method_not_allowed");
  return body;
}

describe("a method a path does not take", () => {
  it("is 405 method_not_allowed with Allow on the pages and Better Auth's API", async () => {
    await expectMethodNotAllowed(await call("PUT", ENDPOINT.signIn), "GET, HEAD, POST");
    await expectMethodNotAllowed(await call("DELETE", ENDPOINT.signOut), "POST");
    await expectMethodNotAllowed(await call("GET", ENDPOINT.sessionToken), "POST");
    await expectMethodNotAllowed(await call("PATCH", `${ENDPOINT.authApi}/sign-in/email`), "GET, HEAD, POST");
  });

  it("in SCIM's error format on the SCIM endpoints, once the token is checked", async () => {
    const anonymous = await scim("PATCH", "/ServiceProviderConfig", undefined);
    expect(anonymous.status).toBe(401);
    const { token } = await scimOrg();
    const response = await scim("PATCH", "/ServiceProviderConfig", token);
    expect(response.headers.get("Content-Type")).toBe("application/scim+json");
    const body = (await expectMethodNotAllowed(response, "GET, HEAD")) as { schemas?: string[]; status?: string };
    expect(body.schemas).toEqual([ERROR_SCHEMA]);
    expect(body.status).toBe("405");
  });

  it("leaves an unknown path 404", async () => {
    const response = await call("POST", "/no/such/page");
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: string }).error).toBe("not_found");
  });
});
