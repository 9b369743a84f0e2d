import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { matchRoute } from "../../workers/gateway/src/routes.ts";

describe("route table", () => {
  it("sends the login pages, the session exchange and Better Auth's API to the authn Worker", () => {
    for (const path of [
      ENDPOINT.home,
      ENDPOINT.signIn,
      ENDPOINT.signUp,
      ENDPOINT.signOut,
      ENDPOINT.app,
      ENDPOINT.sessionToken,
      `${ENDPOINT.authApi}/sign-in/email`,
    ]) {
      expect(matchRoute(path), path).toEqual({ kind: "public", upstream: "AUTHN" });
    }
  });

  it("sends the token endpoints and metadata to the token Worker", () => {
    for (const path of [
      ENDPOINT.token,
      ENDPOINT.revocation,
      ENDPOINT.introspection,
      ENDPOINT.jwks,
      ENDPOINT.authorizationServerMetadata,
      ENDPOINT.openIdConfiguration,
    ]) {
      expect(matchRoute(path), path).toEqual({ kind: "public", upstream: "TOKEN" });
    }
  });

  it("protects the demo service's paths and their sub-paths only", () => {
    expect(matchRoute(ENDPOINT.documents)).toMatchObject({ kind: "protected", resource: "documents" });
    expect(matchRoute(`${ENDPOINT.documents}/1`)).toMatchObject({ kind: "protected", resource: "documents" });
    expect(matchRoute(ENDPOINT.demoEcho)).toMatchObject({ kind: "protected", resource: "demo-echo" });
    expect(matchRoute(`${ENDPOINT.documents}X`)).toBeUndefined();
  });

  it("names no path outside the contracts", () => {
    for (const path of ["/oauth2/other", "/.well-known/other", ENDPOINT.authApi, `${ENDPOINT.sessionToken}/x`]) {
      expect(matchRoute(path), path).toBeUndefined();
    }
  });
});
