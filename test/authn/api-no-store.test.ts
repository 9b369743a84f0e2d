// A person's answers from Better Auth's API are kept out of caches
// (workers/authn/src/http/personal-no-store.ts; ASVS 5.0 V14.3.2).
import { describe, expect, it } from "vitest";
import { get, signUp } from "./helpers.ts";

describe("Cache-Control on Better Auth's answers", { timeout: 60_000 }, () => {
  it("is no-store on every answer to a signed-in person that stated none", async () => {
    const person = await signUp("No Store");
    for (const path of [
      "/api/auth/list-sessions",
      "/api/auth/api-key/list",
      "/api/auth/organization/list",
      "/api/auth/organization/list-members",
      "/api/auth/passkey/list-user-passkeys",
      "/api/auth/passkey/generate-register-options",
    ]) {
      const response = await get(path, { Cookie: person.cookie });
      await response.body?.cancel();
      expect({ path, status: response.status, cache: response.headers.get("Cache-Control") }).toEqual({
        path,
        status: 200,
        cache: "no-store",
      });
    }
  });

  it("is no-store on an answer that sets a cookie (a passkey challenge), without a session", async () => {
    const response = await get("/api/auth/passkey/generate-authenticate-options");
    await response.body?.cancel();
    expect(response.status).toBe(200);
    expect(response.headers.getSetCookie().length).toBeGreaterThan(0);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
  });

  it("leaves an answer to a request without a credential that sets no cookie as it was", async () => {
    const ok = await get("/api/auth/ok");
    expect(ok.status).toBe(200);
    expect(ok.headers.get("Cache-Control")).toBeNull();
    await ok.body?.cancel();
  });
});
