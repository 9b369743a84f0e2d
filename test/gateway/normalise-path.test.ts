import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { MAX_PATH_LENGTH, normalisePath, PathError } from "../../workers/gateway/src/routing/normalise-path.ts";
import { gatewayFetch, memberClaims, testSigner } from "./signed-token.ts";

function codeOf(path: string): string | undefined {
  try {
    normalisePath(path);
    return undefined;
  } catch (error) {
    return error instanceof PathError ? error.code : "not a PathError";
  }
}

describe("normalisePath: one normal form", () => {
  it("leaves a normal path as it is", () => {
    for (const path of ["/", "/api/documents", "/api/documents/", "/a-b_c~d.e/f"])
      expect(normalisePath(path)).toBe(path);
  });

  it("merges empty segments, removes dot segments, turns backslashes into slashes", () => {
    const cases: [string, string][] = [
      ["//api//documents", "/api/documents"],
      ["/api/./documents", "/api/documents"],
      ["/api/x/../documents", "/api/documents"],
      ["/api/documents/.", "/api/documents/"],
      ["/api\\documents", "/api/documents"],
      ["/api/x/..", "/api/"],
    ];
    for (const [raw, normal] of cases) expect(normalisePath(raw), raw).toBe(normal);
  });

  it("decodes escaped unreserved characters (RFC 3986 §2.3), so %2e is a dot and %61 an a", () => {
    expect(normalisePath("/%61pi/documents")).toBe("/api/documents");
    expect(normalisePath("/api/x/%2e%2E/documents")).toBe("/api/documents");
    expect(normalisePath("/api/x/.%2e/documents")).toBe("/api/documents");
    expect(normalisePath("/api/%7euser")).toBe("/api/~user");
    // Reserved and other characters stay escaped, in upper case (§6.2.2.1).
    expect(normalisePath("/api/a%3ab%c3%a9")).toBe("/api/a%3Ab%C3%A9");
  });

  it("refuses what has no single safe reading, each with its code", () => {
    const cases: [string, string][] = [
      ["api/documents", "ERR_PATH_NOT_ABSOLUTE"],
      [`/${"a".repeat(MAX_PATH_LENGTH)}`, "ERR_PATH_TOO_LONG"],
      ["/api/%2e%2e%2fadmin", "ERR_PATH_ENCODED_SEPARATOR"],
      ["/api%2Fdocuments", "ERR_PATH_ENCODED_SEPARATOR"],
      ["/api%5cdocuments", "ERR_PATH_ENCODED_SEPARATOR"],
      ["/api/%252e%252e/admin", "ERR_PATH_DOUBLE_ENCODING"],
      ["/api/documents;jsessionid=1", "ERR_PATH_PARAMETERS"],
      ["/api/documents/..;/admin", "ERR_PATH_PARAMETERS"],
      ["/api/documents%3bx", "ERR_PATH_PARAMETERS"],
      ["/api/documents%00.json", "ERR_PATH_CONTROL_CHARACTER"],
      ["/api/documents%0d%0aX-User-ID:%20a", "ERR_PATH_CONTROL_CHARACTER"],
      ["/api/docu\tments", "ERR_PATH_CONTROL_CHARACTER"],
      ["/api/%zz", "ERR_PATH_ENCODING"],
      ["/api/%2", "ERR_PATH_ENCODING"],
      ["/../etc/passwd", "ERR_PATH_TRAVERSAL"],
      ["/api/%2e%2e/%2e%2e/etc", "ERR_PATH_TRAVERSAL"],
    ];
    for (const [raw, code] of cases) expect(codeOf(raw), raw).toBe(code);
  });
});

describe("path tricks through the gateway", () => {
  const ORIGIN = "http://localhost:8787";

  it("routes, decides and forwards exactly the normalised path", async () => {
    const signer = await testSigner();
    await signer.publish();
    const authorization = `Bearer ${await signer.sign(memberClaims())}`;
    // Each is the echo route once normalised; the echo answers with the URL it was sent.
    for (const raw of ["//api//echo", "/api/./echo", "/api/documents/../echo", "/%61pi/%65cho", "/api/x/%2e%2e/echo"]) {
      const response = await gatewayFetch(`${ORIGIN}${raw}?q=1`, { headers: { Authorization: authorization } });
      expect(response.status, raw).toBe(200);
      expect(((await response.json()) as { url: string }).url, raw).toBe(`${ORIGIN}${ENDPOINT.demoEcho}?q=1`);
    }
  });

  it("400 invalid_path with the code, before any route or token is looked at", async () => {
    const cases: [string, string][] = [
      ["/api/documents/..%2f..%2fadmin/v1/orgs", "ERR_PATH_ENCODED_SEPARATOR"],
      ["/api/echo%5c..%5cdocuments", "ERR_PATH_ENCODED_SEPARATOR"],
      ["/api/documents/..;/echo", "ERR_PATH_PARAMETERS"],
      ["/api/echo;a=b", "ERR_PATH_PARAMETERS"],
      ["/api/%252e%252e/echo", "ERR_PATH_DOUBLE_ENCODING"],
      ["/api/echo%00", "ERR_PATH_CONTROL_CHARACTER"],
      ["/api/%gg", "ERR_PATH_ENCODING"],
    ];
    for (const [raw, code] of cases) {
      const response = await gatewayFetch(`${ORIGIN}${raw}`);
      expect(response.status, raw).toBe(400);
      expect(await response.json(), raw).toMatchObject({
        error: "invalid_path",
        error_description: expect.stringMatching(new RegExp(`^${code}:`)),
      });
    }
  });

  it("a path that climbs out of a public prefix lands where it normalises to, not where it started", async () => {
    // The WHATWG URL parser and the gateway agree: /api/auth/../documents is the protected documents route.
    const response = await gatewayFetch(`${ORIGIN}/api/auth/%2e%2e/documents`);
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toBe('Bearer realm="mono-auth"');
  });
});
