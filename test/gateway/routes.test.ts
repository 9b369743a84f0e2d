import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { type ProtectedRoute, RouteTable } from "../../workers/gateway/src/routing/match-route.ts";
import { ROUTES } from "../../workers/gateway/src/routing/route-table.ts";

const routes = new RouteTable(ROUTES, { issuer: env.ISSUER, apiAudience: env.API_AUDIENCE });

function upstreamOf(path: string): string | undefined {
  const route = routes.match(path);
  return route && route.kind !== "local" && "binding" in route.upstream ? route.upstream.binding : undefined;
}

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
      expect(routes.match(path)?.kind, path).toBe("public");
      expect(upstreamOf(path), path).toBe("AUTHN");
    }
  });

  it("sends the token endpoints, metadata and the admin API to the token Worker", () => {
    for (const path of [
      ENDPOINT.token,
      ENDPOINT.revocation,
      ENDPOINT.introspection,
      ENDPOINT.hostBootstrap,
      ENDPOINT.jwks,
      ENDPOINT.authorizationServerMetadata,
      ENDPOINT.openIdConfiguration,
      `${ENDPOINT.admin}/orgs`,
    ]) {
      expect(routes.match(path)?.kind, path).toBe("public");
      expect(upstreamOf(path), path).toBe("TOKEN");
    }
  });

  it("protects the demo service's paths and their sub-paths only, each with its audience", () => {
    const documents = routes.match(ENDPOINT.documents) as ProtectedRoute;
    expect(documents).toMatchObject({ kind: "protected", resource: "documents", audienceUri: env.API_AUDIENCE });
    expect(routes.match(`${ENDPOINT.documents}/1`)).toBe(documents);
    expect(routes.match(ENDPOINT.demoEcho)).toMatchObject({ kind: "protected", resource: "demo-echo" });
    expect(routes.match(`${ENDPOINT.documents}X`)).toBeUndefined();
  });

  it("gives an MCP route its own resource identifier as audience, and its metadata URL", () => {
    expect(routes.match(ENDPOINT.mcpDemo)).toMatchObject({
      kind: "protected",
      mcp: true,
      audienceUri: `${env.ISSUER}${ENDPOINT.mcpDemo}`,
      resourceUri: `${env.ISSUER}${ENDPOINT.mcpDemo}`,
      resourceMetadataUrl: `${env.ISSUER}${ENDPOINT.protectedResourceMetadata}${ENDPOINT.mcpDemo}`,
      methods: { POST: "call" },
    });
    expect(routes.match(`${ENDPOINT.mcpDemo}/x`)).toBeUndefined();
    expect([...routes.mcp.keys()]).toEqual([ENDPOINT.mcpDemo]);
  });

  it("serves the gateway's own documents locally", () => {
    for (const path of [
      ENDPOINT.gatewayJwks,
      ENDPOINT.protectedResourceMetadata,
      `${ENDPOINT.protectedResourceMetadata}${ENDPOINT.mcpDemo}`,
    ]) {
      expect(routes.match(path)?.kind, path).toBe("local");
    }
  });

  it("names no path outside the contracts", () => {
    for (const path of [
      "/oauth2/other",
      "/.well-known/other",
      ENDPOINT.authApi,
      ENDPOINT.admin,
      `${ENDPOINT.sessionToken}/x`,
      "/mcp",
      "/mcp/other",
    ]) {
      expect(routes.match(path), path).toBeUndefined();
    }
  });

  it("refuses a table that names a path twice, an MCP route that is not exact, or a non-https upstream", () => {
    const settings = { issuer: env.ISSUER, apiAudience: env.API_AUDIENCE };
    const mcp = ROUTES.find((r) => r.kind === "protected" && r.mcp) as ProtectedRoute;
    expect(() => new RouteTable([mcp, mcp], settings)).toThrow("twice");
    expect(() => new RouteTable([{ ...mcp, match: "subtree" }], settings)).toThrow("must match exactly");
    expect(() => new RouteTable([{ ...mcp, mcp: false, upstream: { url: "http://svc.example" } }], settings)).toThrow(
      "https",
    );
  });

  it("refuses a protected route that would forward TRACE, CONNECT or a method no Worker serves (RFC 9110 §9.3.8)", () => {
    const settings = { issuer: env.ISSUER, apiAudience: env.API_AUDIENCE };
    const mcp = ROUTES.find((r) => r.kind === "protected" && r.mcp) as ProtectedRoute;
    for (const method of ["TRACE", "CONNECT", "PROPFIND"]) {
      expect(() => new RouteTable([{ ...mcp, methods: { POST: "call", [method]: "call" } }], settings)).toThrow(
        `route ${mcp.path} names ${method}, never forwarded`,
      );
    }
    expect(() => new RouteTable([{ ...mcp, methods: { POST: "call", OPTIONS: "call" } }], settings)).not.toThrow();
  });
});
