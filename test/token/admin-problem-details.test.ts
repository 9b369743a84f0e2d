// RFC 9457: every admin API error is application/problem+json with a stable
// `type` per code, a title, the status and the detail, and keeps the stable
// code (as `code` and as `error`), its headers and its extension members.
import { describe, expect, it } from "vitest";
import { REALM } from "../../shared/contracts/endpoints.ts";
import { PROBLEM_CONTENT_TYPE } from "../../shared/errors/problem.ts";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";

describe("admin API errors: RFC 9457 problem details", () => {
  it("401 without a token: a problem, with the RFC 6750 challenge kept", async () => {
    const response = await adminRequest("GET", "/orgs");
    expect(response.headers.get("WWW-Authenticate")).toBe(`Bearer realm="${REALM}"`);
    const body = await expectHttpError(response, 401, "unauthorized");
    expect(body).toMatchObject({ type: "urn:mono-auth:problem:unauthorized", title: "Authentication required" });
  });

  it("400 invalid_body names the field in detail; 404 for an unknown org or path", async () => {
    const token = await adminToken();
    const invalid = await expectHttpError(
      await adminRequest("POST", "/orgs", { token, body: { name: "Acme", colour: "red" } }),
      400,
      "invalid_body",
    );
    expect(invalid.detail).toBe("colour: unknown field");
    expect(invalid.title).toBe("Invalid request");
    await expectHttpError(await adminRequest("GET", "/orgs/no-such-org/clients", { token }), 404, "not_found");
    await expectHttpError(await adminRequest("GET", "/no/such/route", { token }), 404, "not_found");
  });

  it("keeps extension members (a policy that does not compile names its policy_error and path)", async () => {
    const token = await adminToken();
    const org = (await (await adminRequest("POST", "/orgs", { token, body: { name: "Problems" } })).json()) as {
      id: string;
    };
    const response = await adminRequest("POST", `/orgs/${org.id}/policies/validate`, {
      token,
      body: { document: { rules: "not a list" } },
    });
    expect(response.headers.get("Content-Type")).toBe(PROBLEM_CONTENT_TYPE);
    const body = await expectHttpError(response, 400, "invalid_body");
    expect(typeof body.policy_error).toBe("string");
  });
});
