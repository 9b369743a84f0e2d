import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import {
  canonicalHeaderName,
  isCredentialHeader,
  ROUTING_OVERRIDE_HEADERS,
  TRUSTED_HEADER,
} from "../../shared/contracts/headers.ts";
import { MAX_ACCESS_TOKEN_TTL_SECONDS } from "../../shared/contracts/tokens.ts";
import { gatewayFetch, memberClaims, type TestSigner, testSigner } from "./signed-token.ts";
import { privateCacheControl } from "../../workers/gateway/src/forward/downstream-response.ts";

// Requests an attacker would send, through the real gateway to the real demo
// service's echo (ENDPOINT.demoEcho), which answers with exactly the headers
// it received, and with any response header a test asks it for.
const ORIGIN = "http://localhost:8787";
const CLIENT_IP = "203.0.113.9";

let signer: TestSigner;
let bearer: string;

beforeAll(async () => {
  signer = await testSigner();
});

beforeEach(async () => {
  await signer.publish();
  bearer = `Bearer ${await signer.sign(memberClaims())}`;
});

interface Echo {
  method: string;
  url: string;
  headers: [string, string][];
}

function echoUrl(respondHeaders: string[] = [], query = ""): string {
  const params = new URLSearchParams(query);
  for (const h of respondHeaders) params.append("respond_header", h);
  const search = params.toString();
  return `${ORIGIN}${ENDPOINT.demoEcho}${search ? `?${search}` : ""}`;
}

/** Through the gateway to the echo; returns what the downstream received. */
async function echoed(headers: [string, string][]): Promise<{ received: Headers; raw: string }> {
  const response = await gatewayFetch(echoUrl(), { headers: [["Authorization", bearer], ...headers] });
  expect(response.status).toBe(200);
  const raw = await response.text();
  return { received: new Headers((JSON.parse(raw) as Echo).headers), raw };
}

function receivedCanonical(received: Headers): string[] {
  return [...received.keys()].map(canonicalHeaderName);
}

async function expectError(response: Response, status: number, error: string) {
  expect(response.status).toBe(status);
  expect(((await response.json()) as { error: string }).error).toBe(error);
}

describe("hostile requests: nothing of the caller's crosses the gateway that should not", () => {
  it("no credential reaches the downstream, in any spelling: Cookie, Authorization, DPoP, API keys", async () => {
    const secret = "s3cr3t-session-token";
    const { received, raw } = await echoed([
      ["Cookie", `better-auth.session_token=${secret}`],
      ["cookie", `again=${secret}`],
      ["Cookie2", secret],
      ["Proxy-Authorization", `Basic ${secret}`],
      ["Proxy_Authorization", `Basic ${secret}`],
      ["DPoP", secret],
      ["X-API-Key", secret],
      ["x_api_key", secret],
      ["X-Auth-Token", secret],
      ["X_AUTH_TOKEN", secret],
      ["X-Access-Token", secret],
    ]);
    expect(receivedCanonical(received).filter(isCredentialHeader)).toEqual([]);
    expect(raw).not.toContain(secret);
    // Nor the bearer token itself: the downstream trusts the gateway's headers.
    expect(raw).not.toContain(bearer.slice("Bearer ".length));
    expect(received.get(TRUSTED_HEADER.userId)).toBe("user-1");
  });

  it("no vendor credential or host override reaches the downstream; an ordinary header does", async () => {
    const secret = "s3cr3t-vendor-credential";
    const names = [
      "CF-Access-Client-Id",
      "CF-Access-Client-Secret",
      "Cf-Access-Jwt-Assertion",
      "X-Authorization",
      "X-Amz-Security-Token",
      "X-Goog-Api-Key",
      "Ocp-Apim-Subscription-Key",
      "X-Api-Key",
      "X-Host",
      "X-Original-Host",
      "X-Forwarded",
    ];
    const { received, raw } = await echoed([
      ...names.map((name): [string, string] => [name, secret]),
      ["X-Monkey", "kept"],
      ["Idempotency-Key", "kept-too"],
    ]);
    for (const name of names) expect(received.has(name), name).toBe(false);
    expect(raw).not.toContain(secret);
    expect(received.get("X-Monkey")).toBe("kept");
    expect(received.get("Idempotency-Key")).toBe("kept-too");
  });

  it("forwarding headers are the gateway's own: client address from cf-connecting-ip only", async () => {
    const forged = "198.51.100.66";
    const { received, raw } = await echoed([
      ["cf-connecting-ip", CLIENT_IP],
      ["X-Forwarded-For", forged],
      ["X_Forwarded_For", forged],
      ["x-forwarded-for", `${forged}, ${forged}`],
      ["X-Forwarded-Host", "evil.example"],
      ["X-Forwarded-Proto", "https"],
      ["X-Forwarded-Prefix", "/admin"],
      ["Forwarded", `for=${forged};host=evil.example;proto=https`],
      ["True-Client-IP", forged],
      ["True_Client_IP", forged],
      ["X-Real-IP", forged],
      ["X-Client-IP", forged],
      ["cf_connecting_ip", forged],
    ]);
    expect(raw).not.toContain(forged);
    expect(raw).not.toContain("evil.example");
    expect(received.get("X-Forwarded-For")).toBe(CLIENT_IP);
    expect(received.get("cf-connecting-ip")).toBe(CLIENT_IP);
    expect(received.get("X-Forwarded-Host")).toBe("localhost:8787");
    expect(received.get("X-Forwarded-Proto")).toBe("http");
    expect(received.get("Forwarded")).toBe(`for=${CLIENT_IP};host="localhost:8787";proto=http`);
    expect(received.has("True-Client-IP")).toBe(false);
    expect(received.has("X-Real-IP")).toBe(false);
    expect(received.has("X-Forwarded-Prefix")).toBe(false);
  });

  it("the caller's Host never reaches the downstream: it gets the host of the URL the gateway sends to", async () => {
    for (const host of ["evil.example", "LOCALHOST:8787.evil.example", "localhost:9999"]) {
      const { received, raw } = await echoed([["Host", host]]);
      expect(received.get("Host"), host).toBe("localhost:8787");
      expect(raw).not.toContain(host === "localhost:9999" ? host : "evil.example");
    }
  });

  it("a client address the edge did not give is `unknown`, never the caller's claim", async () => {
    const { received } = await echoed([["X-Forwarded-For", "198.51.100.66"]]);
    expect(received.has("X-Forwarded-For")).toBe(false);
    expect(received.get("Forwarded")).toBe('for=unknown;host="localhost:8787";proto=http');
  });

  it("method and URL overrides never reach the downstream", async () => {
    const { received } = await echoed([
      ["X-HTTP-Method-Override", "DELETE"],
      ["x_http_method_override", "DELETE"],
      ["X-HTTP-Method", "PUT"],
      ["X-Method-Override", "PATCH"],
      ["X-Original-URL", "/admin"],
      ["X_Original_URL", "/admin"],
      ["X-Rewrite-URL", "/admin"],
    ]);
    expect(receivedCanonical(received).filter((name) => ROUTING_OVERRIDE_HEADERS.has(name))).toEqual([]);
  });

  it("trusted headers in every spelling, duplicated or named in Connection, are the gateway's only", async () => {
    const { received } = await echoed([
      ["X-User-ID", "attacker"],
      ["X-User-ID", "attacker-2"],
      ["x_user_id", "attacker"],
      ["X_USER_ID", "attacker"],
      ["X-Org-ID", "org_someone_else"],
      ["x-org_id", "org_someone_else"],
      ["X-Actor-ID", "evil-agent"],
      ["X-ABAC-Filter", '{"org_id":"org_someone_else"}'],
      ["X_ABAC_Filter", '{"org_id":"org_someone_else"}'],
      ["X-Gateway-Assertion", "forged"],
      ["X-Hop-Secret", "1"],
      ["Connection", "X-User-ID, X-Hop-Secret, Cookie"],
    ]);
    expect(received.get(TRUSTED_HEADER.userId)).toBe("user-1");
    expect(received.get(TRUSTED_HEADER.orgId)).toBe("org-1");
    expect(received.get(TRUSTED_HEADER.abacFilter)).toBe("{}");
    expect(received.has(TRUSTED_HEADER.actorId)).toBe(false);
    // The gateway's own assertion, never the caller's.
    expect(received.get(TRUSTED_HEADER.gatewayAssertion)).not.toBe("forged");
    expect(received.get(TRUSTED_HEADER.gatewayAssertion)?.split(".")).toHaveLength(3);
    expect(received.has("X-Hop-Secret")).toBe(false);
    expect(received.has("Connection")).toBe(false);
    const trusted = new Set(Object.values(TRUSTED_HEADER).map(canonicalHeaderName));
    const names = receivedCanonical(received).filter((name) => trusted.has(name));
    // One of each, spelled as the gateway spells it.
    expect(names.sort()).toEqual(["x-abac-filter", "x-gateway-assertion", "x-org-id", "x-user-id"]);
    expect([...received.keys()].filter((name) => name.includes("_"))).toEqual([]);
  });

  it("a caller's Content-Length on a request without a body is not passed on: the page, not a 500 (RFC 9112 §6.3)", async () => {
    const { received } = await echoed([["Content-Length", "5"]]);
    expect(received.has("Content-Length")).toBe(false);
    // The authn Worker read a GET claiming a body as one with a body, and failed.
    for (const length of ["5", "abc"]) {
      const page = await gatewayFetch(`${ORIGIN}${ENDPOINT.signIn}`, { headers: { "Content-Length": length } });
      expect(page.status, length).toBe(200);
      expect(page.headers.get("Content-Type")).toContain("text/html");
    }
  });

  it("400 invalid_request for two Authorization headers", async () => {
    const response = await gatewayFetch(echoUrl(), {
      headers: [
        ["Authorization", bearer],
        ["Authorization", bearer],
      ],
    });
    await expectError(response, 400, "invalid_request");
    expect(response.headers.get("WWW-Authenticate")).toContain('error="invalid_request"');
  });

  it("400 invalid_request for an access_token in the query (RFC 6750 §2.3), even beside a valid header", async () => {
    const token = bearer.slice("Bearer ".length);
    for (const query of [
      `access_token=${token}`,
      `ACCESS_TOKEN=${token}`,
      `access%5Ftoken=${token}`,
      "a=1&access_token=",
    ]) {
      for (const headers of [[], [["Authorization", bearer]]] as [string, string][][]) {
        const response = await gatewayFetch(echoUrl([], query), { headers });
        expect(response.headers.get("WWW-Authenticate")).toMatch(/^Bearer realm="mono-auth", error="invalid_request"/);
        await expectError(response, 400, "invalid_request");
      }
    }
  });

  it("400 invalid_request for every spelling a downstream framework reads as access_token: `;`, PHP names, arrays, encodings", async () => {
    const token = bearer.slice("Bearer ".length);
    for (const query of [
      // `;` separates parameters for some servers (HTML 4, older Python).
      `x=1;access_token=${token}`,
      `x=1%26y=2;ACCESS_TOKEN=${token}`,
      // PHP reads `.` and a space in a name as `_`, and `[]` as an array of it (so do Rack and qs).
      `access.token=${token}`,
      `access+token=${token}`,
      `access%20token=${token}`,
      `access_token[]=${token}`,
      `access_token%5B%5D=${token}`,
      `access_token[0]=${token}`,
      `access[token=${token}`,
      // Case, separators and encodings a framework may normalise away, or decode twice.
      `Access-Token=${token}`,
      `accessToken=${token}`,
      `%61ccess_token=${token}`,
      `access%255Ftoken=${token}`,
      "access_token",
      // Unicode case folding, as Go's strings.EqualFold and Java's equalsIgnoreCase compare names:
      // the long s (U+017F) folds to `s`, the Kelvin sign (U+212A) to `k`; sent UTF-8 percent-encoded,
      // raw, or encoded twice.
      `acce%C5%BF%C5%BF_token=${token}`,
      `acce\u017f\u017f_token=${token}`,
      `access_to%E2%84%AAen=${token}`,
      `access_to%25E2%2584%25AAen=${token}`,
    ]) {
      const response = await gatewayFetch(`${ORIGIN}${ENDPOINT.demoEcho}?${query}`, {
        headers: [["Authorization", bearer]],
      });
      expect(response.status, query.slice(0, 24)).toBe(400);
      expect(response.headers.get("WWW-Authenticate")).toMatch(/^Bearer realm="mono-auth", error="invalid_request"/);
      expect(((await response.json()) as { error: string }).error).toBe("invalid_request");
    }
  });

  it("an ordinary query, other token-named parameters included, reaches the downstream as sent", async () => {
    // `token`, `page_token`, `id_token`, `api_key` are not the gateway's credential and common in APIs: kept.
    const query =
      "q=access_token&page_token=abc&token=t1&id_token=i&api_key=k&access[token]=1&x.access_token=2&a=1;b=2";
    const response = await gatewayFetch(`${ORIGIN}${ENDPOINT.demoEcho}?${query}`, {
      headers: [["Authorization", bearer]],
    });
    expect(response.status).toBe(200);
    expect(new URL(((await response.json()) as Echo).url).search).toBe(`?${query}`);
  });
});

describe("hostile downstream answers: the identity origin serves only what it should", () => {
  async function answered(respondHeaders: string[]) {
    return gatewayFetch(echoUrl(respondHeaders), { headers: { Authorization: bearer } });
  }

  it("drops Set-Cookie and every header outside the allow-list, and adds nosniff", async () => {
    const response = await answered([
      "Set-Cookie: better-auth.session_token=attacker; Path=/; HttpOnly",
      "Set-Cookie: other=1",
      'Clear-Site-Data: "cookies"',
      "Access-Control-Allow-Origin: https://evil.example",
      "Access-Control-Allow-Credentials: true",
      "Refresh: 0; url=https://evil.example",
      "Service-Worker-Allowed: /",
      "Strict-Transport-Security: max-age=0",
      "Location: https://evil.example/phish",
      "Cache-Control: no-store",
    ]);
    expect(response.status).toBe(200);
    expect(response.headers.getSetCookie()).toEqual([]);
    for (const name of [
      "Clear-Site-Data",
      "Access-Control-Allow-Origin",
      "Access-Control-Allow-Credentials",
      "Refresh",
      "Service-Worker-Allowed",
      "Strict-Transport-Security",
      "Location",
    ]) {
      expect(response.headers.has(name), name).toBe(false);
    }
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(response.headers.get("Content-Type")).toBe("application/json");
    expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(response.headers.get("Content-Security-Policy")).toContain("sandbox");
  });

  it("makes every answer private: a shared cache never keeps one person's answer for the next (RFC 9111 §3.5)", async () => {
    const cached = async (headers: string[]) => (await answered(headers)).headers.get("Cache-Control");
    expect(await cached(["Cache-Control: public, max-age=600, s-maxage=3600"])).toBe("private, max-age=600");
    expect(await cached([])).toBe("private");
    expect(await cached(["Cache-Control: must-revalidate, max-age=0"])).toBe("private, must-revalidate, max-age=0");
    // A private naming fields lets a shared cache keep the rest: the bare one replaces it.
    expect(await cached(['Cache-Control: private="Set-Cookie", max-age=60'])).toBe("private, max-age=60");
    expect(privateCacheControl('no-cache="Accept, Range", PUBLIC')).toBe('private, no-cache="Accept, Range"');
    expect(privateCacheControl("no-store, public")).toBe("no-store");
  });

  it("keeps a Location within the origin", async () => {
    const response = await answered([`Location: ${ENDPOINT.documents}`]);
    expect(response.headers.get("Location")).toBe(`${ORIGIN}${ENDPOINT.documents}`);
  });

  it("502 upstream_response_refused for active content: HTML, XHTML, SVG, XML, JavaScript, ambiguous types", async () => {
    for (const type of [
      "text/html",
      "TEXT/HTML; charset=utf-8",
      " text/html ;charset=utf-8",
      "application/xhtml+xml",
      "image/svg+xml",
      "text/xml",
      "application/xml",
      "application/atom+xml",
      "text/xsl",
      "text/javascript",
      "application/javascript",
      "application/x-javascript",
      "text/ecmascript",
      "multipart/x-mixed-replace; boundary=x",
      "text/plain, text/html",
    ]) {
      const response = await answered([`Content-Type: ${type}`, "Set-Cookie: x=1"]);
      expect(response.status, type).toBe(502);
      expect(response.headers.getSetCookie()).toEqual([]);
      expect(((await response.json()) as { error: string }).error).toBe("upstream_response_refused");
    }
  });

  it("lets passive types through", async () => {
    for (const type of ["application/json", "text/plain; charset=utf-8", "text/csv", "application/problem+json"]) {
      const response = await answered([`Content-Type: ${type}`]);
      expect(response.status, type).toBe(200);
      expect(response.headers.get("Content-Type")).toBe(type);
    }
  });
});

describe("hostile tokens", () => {
  it("401 ERR_TOKEN_LIFETIME for a token whose exp - iat exceeds the maximum lifetime", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await signer.sign(memberClaims({ iat: now - 60, exp: now + MAX_ACCESS_TOKEN_TTL_SECONDS }));
    const response = await gatewayFetch(echoUrl(), { headers: { Authorization: `Bearer ${token}` } });
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toContain("ERR_TOKEN_LIFETIME:");
    expect(await response.json()).toMatchObject({
      error: "invalid_token",
      error_description: expect.stringMatching(/^ERR_TOKEN_LIFETIME:/),
    });
  });

  it("401 ERR_TOKEN_CLAIM_INVALID for a subject, org or actor that cannot cross as a header value unchanged (RFC 9110 §5.5)", async () => {
    // CR/LF made the runtime throw after the PDP allowed (500, no audit record); edge whitespace was
    // trimmed, so a `sub` of " user-1" reached a downstream as the subject "user-1".
    for (const overrides of [
      { sub: "user-1\r\nX-User-ID: admin" },
      { sub: " user-1" },
      { sub: "user-1\t" },
      { org_id: "org-1\u0000" },
      { org_id: "org-1 " },
      { act: { sub: "agent\n", client_id: "agent-client" } },
    ]) {
      const token = await signer.sign(memberClaims(overrides));
      const response = await gatewayFetch(echoUrl(), { headers: { Authorization: `Bearer ${token}` } });
      const label = JSON.stringify(overrides);
      expect(response.status, label).toBe(401);
      expect(response.headers.get("WWW-Authenticate"), label).toMatch(
        /^Bearer realm="mono-auth", error="invalid_token", error_description="ERR_TOKEN_CLAIM_INVALID:/,
      );
      expect(((await response.json()) as { error: string }).error, label).toBe("invalid_token");
    }
    // Inner characters that are field-content pass as they are.
    const token = await signer.sign(memberClaims({ sub: "user 1" }));
    const response = await gatewayFetch(echoUrl(), { headers: { Authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    expect(new Headers(((await response.json()) as Echo).headers).get(TRUSTED_HEADER.userId)).toBe("user 1");
  });

  it("403 from the policy without the scope, and the echo never answers", async () => {
    const token = await signer.sign(memberClaims({ scope: "profile" }));
    const response = await gatewayFetch(echoUrl(), { headers: { Authorization: `Bearer ${token}` } });
    await expectError(response, 403, "access_denied");
  });
});

describe("unknown paths", () => {
  it("404 not_found for paths no route names, without touching an upstream", async () => {
    for (const path of ["/oauth2/other", "/.well-known/other", "/api/documentsX", "/api/auth", "/app/tokens"]) {
      await expectError(await gatewayFetch(`${ORIGIN}${path}`), 404, "not_found");
    }
  });
});
