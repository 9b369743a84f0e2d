import { env } from "cloudflare:workers";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { MAX_FORWARDS_SUPPORTED, publicRouteMethodAnswer } from "../../workers/gateway/src/forward/method-gate.ts";
import { proxy } from "../../workers/gateway/src/forward/proxy.ts";
import { upstreamFetcher } from "../../workers/gateway/src/forward/upstream.ts";
import { externalMcpServer } from "./mcp-calls.ts";
import { gatewayFetch, memberClaims, type TestSigner, testSigner } from "./signed-token.ts";

// RFC 9110 §9.3.8 (TRACE), §9.3.6 (CONNECT) and §7.6.2 (Max-Forwards) at the
// real gateway, in front of the real authn, token and demo Workers.
const ORIGIN = "http://localhost:8787";
const PUBLIC_ALLOW = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";
/** Public routes of each upstream: Better Auth's API, an authn page, the token endpoint, SCIM, the admin API. */
const PUBLIC_PATHS = [
  `${ENDPOINT.authApi}/get-session`,
  ENDPOINT.signIn,
  ENDPOINT.token,
  `${ENDPOINT.scim}/Users`,
  `${ENDPOINT.admin}/orgs`,
];

let signer: TestSigner;
beforeAll(async () => {
  signer = await testSigner();
});
beforeEach(() => signer.publish());
afterEach(() => {
  vi.restoreAllMocks();
});

function at(path: string, method: string, headers: Record<string, string> = {}): Promise<Response> {
  return gatewayFetch(`${ORIGIN}${path}`, { method, headers });
}

/** Status, every header but the request id (each answer's own), and the body. */
async function answer(response: Response) {
  const headers = Object.fromEntries([...response.headers].filter(([name]) => name !== "x-request-id"));
  return { status: response.status, headers, body: await response.text() };
}

const refusedHere = (allow: string) => ({
  status: 405,
  headers: { allow, "cache-control": "no-store", "content-type": "application/json" },
  body: JSON.stringify({ error: "method_not_allowed", error_description: `use ${allow}` }),
});

describe("TRACE is answered 405 with Allow on every route, never forwarded (RFC 9110 §9.3.8)", () => {
  it("on a public route, where the caller's cookies and Authorization would have been reflected", async () => {
    for (const path of PUBLIC_PATHS) {
      const response = await at(path, "TRACE", {
        Cookie: "better-auth.session_token=secret-session",
        Authorization: "Bearer secret-bearer",
        "Max-Forwards": "3",
      });
      // Before: the Worker behind answered (403 INVALID_ORIGIN, 404 not_found, …), the request in hand.
      expect(await answer(response), path).toEqual(refusedHere(PUBLIC_ALLOW));
    }
  });

  it("on a protected route before any token, and on the gateway's own documents, with their methods", async () => {
    const token = await signer.sign(memberClaims());
    for (const maxForwards of ["0", "5"]) {
      const documents = await at(ENDPOINT.documents, "TRACE", {
        Authorization: `Bearer ${token}`,
        "Max-Forwards": maxForwards,
      });
      expect(await answer(documents)).toEqual(refusedHere("GET, HEAD"));
      expect(await answer(await at(ENDPOINT.mcpDemo, "TRACE", { "Max-Forwards": maxForwards }))).toEqual(
        refusedHere("POST"),
      );
      expect(await answer(await at(ENDPOINT.health, "TRACE", { "Max-Forwards": maxForwards }))).toEqual(
        refusedHere("GET, HEAD"),
      );
    }
  });

  it("a method no Worker behind the gateway serves is not passed on either; CONNECT never reaches a Worker", async () => {
    for (const method of ["PROPFIND", "MKCOL", "PURGE"]) {
      expect(await answer(await at(ENDPOINT.token, method)), method).toEqual(refusedHere(PUBLIC_ALLOW));
    }
    // workerd makes no Request of CONNECT or an unknown method (nor hands one to a fetch handler); the
    // gateway's own rule holds for them all the same.
    expect(() => new Request(`${ORIGIN}${ENDPOINT.token}`, { method: "CONNECT" })).toThrow(
      "Invalid HTTP method string: CONNECT",
    );
    for (const method of ["CONNECT", "TRACK", "FOO"]) {
      const refused = publicRouteMethodAnswer(method, new Headers());
      expect(refused && (await answer(refused)), method).toEqual(refusedHere(PUBLIC_ALLOW));
    }
  });
});

describe("OPTIONS and Max-Forwards (RFC 9110 §7.6.2)", () => {
  it("Max-Forwards: 0 on a public route is answered by the gateway, as the final recipient: 204 with Allow", async () => {
    for (const path of PUBLIC_PATHS) {
      for (const value of ["0", "00"]) {
        const response = await at(path, "OPTIONS", {
          "Max-Forwards": value,
          // A preflight's fields get no CORS grant from the gateway: that is the Worker behind it's to give.
          Origin: "https://app.example.com",
          "Access-Control-Request-Method": "POST",
        });
        expect(response.headers.get("x-request-id"), path).toMatch(/^[0-9a-f-]{36}$/);
        expect(await answer(response), path).toEqual({ status: 204, headers: { allow: PUBLIC_ALLOW }, body: "" });
      }
    }
  });

  it("a Max-Forwards that is no 1*DIGIT is 400 invalid_header, not forwarded", async () => {
    // (An empty field reaches the Worker as none: workerd drops it, so it is forwarded like an absent one.)
    for (const value of ["-1", "+1", "1.5", "one", "1, 2", "0x10", "1 2"]) {
      const response = await at(`${ENDPOINT.authApi}/get-session`, "OPTIONS", { "Max-Forwards": value });
      expect(await answer(response), JSON.stringify(value)).toEqual({
        status: 400,
        headers: { "cache-control": "no-store", "content-type": "application/json" },
        body: JSON.stringify({
          error: "invalid_header",
          error_description: "Max-Forwards must be a single non-negative integer (RFC 9110 §7.6.2)",
        }),
      });
    }
  });

  it("Max-Forwards above 0, or none, is forwarded: the Worker behind answers", async () => {
    // Better Auth's session endpoint takes no OPTIONS from an origin it does not allow: its own 405.
    const cases: Record<string, string>[] = [{ "Max-Forwards": "1" }, { "Max-Forwards": "70" }, {}];
    for (const headers of cases) {
      const response = await at(`${ENDPOINT.authApi}/get-session`, "OPTIONS", headers);
      expect(response.status, JSON.stringify(headers)).toBe(405);
      expect(response.headers.get("Allow"), JSON.stringify(headers)).toBe("GET, HEAD, POST");
    }
  });

  it("Max-Forwards is forwarded one lower on OPTIONS, capped, never made up, and left alone on other methods", async () => {
    const host = `upstream-${crypto.randomUUID().slice(0, 8)}.example.com`;
    const received = externalMcpServer(host, () => new Response(null, { status: 204 }));
    const upstream = upstreamFetcher({ url: `https://${host}` }, env);
    const send = async (method: string, maxForwards?: string) => {
      const request = new Request(`${ORIGIN}/x`, { method });
      const headers = new Headers(maxForwards === undefined ? {} : { "Max-Forwards": maxForwards });
      await proxy(upstream, `https://${host}/x`, request, headers);
      return received.at(-1)?.headers.get("Max-Forwards");
    };
    expect(await send("OPTIONS", "1")).toBe("0");
    expect(await send("OPTIONS", "10")).toBe("9");
    expect(await send("OPTIONS", "007")).toBe("6");
    expect(await send("OPTIONS", String(MAX_FORWARDS_SUPPORTED + 2))).toBe(String(MAX_FORWARDS_SUPPORTED));
    expect(await send("OPTIONS", "9".repeat(40))).toBe(String(MAX_FORWARDS_SUPPORTED));
    // §9.3.7: a proxy MUST NOT generate a Max-Forwards the request did not have.
    expect(await send("OPTIONS")).toBeNull();
    // §7.6.2: other methods MAY ignore it; they are passed on as they came.
    expect(await send("GET", "0")).toBe("0");
    expect(await send("POST", "4")).toBe("4");
    expect(received).toHaveLength(8);
  });
});
