import { describe, expect, it } from "vitest";
import { setForwardingHeaders, VIA_PSEUDONYM } from "../../workers/gateway/src/forward/forwarding-headers.ts";
import { stripUntrustedHeaders } from "../../workers/gateway/src/forward/strip-untrusted-headers.ts";

const PROTECTED = { keepCredentials: false };
const PUBLIC = { keepCredentials: true };

describe("stripUntrustedHeaders", () => {
  it("drops every spelling of the trusted headers", () => {
    const inbound = new Headers([
      ["X-User-ID", "a"],
      ["x-user-id", "b"],
      ["X_User_ID", "c"],
      ["x_org_id", "d"],
      ["X-ACTOR-ID", "e"],
      ["x-abac_filter", "{}"],
      ["X-Gateway-Assertion", "f"],
      // The request id is the gateway's own too (observability/request-id.ts).
      ["X-Request-ID", "g"],
      ["x_request_id", "h"],
      ["Accept", "application/json"],
    ]);
    expect([...stripUntrustedHeaders(inbound, PUBLIC).keys()]).toEqual(["accept"]);
  });

  it("drops headers named in Connection, and hop-by-hop headers", () => {
    const inbound = new Headers({
      Connection: "close, X-Keep-Me-Not , x-request-id",
      "X-Keep-Me-Not": "1",
      "X-Request-Id": "2",
      "Keep-Alive": "timeout=5",
      TE: "trailers",
      "X-Other": "3",
    });
    expect([...stripUntrustedHeaders(inbound, PROTECTED).keys()]).toEqual(["x-other"]);
  });

  it("drops every credential-bearing header, in any spelling, on protected routes only", () => {
    const credentials: [string, string][] = [
      ["Authorization", "Bearer abc"],
      ["Cookie", "session=1"],
      ["cookie2", "$Version=1"],
      ["DPoP", "proof"],
      ["X-API-Key", "k"],
      ["x_api_key", "k"],
      ["Api-Key", "k"],
      ["X-Auth-Token", "t"],
      ["X-Access-Token", "t"],
      ["X-Refresh-Token", "t"],
      ["X-CSRF-Token", "t"],
    ];
    const inbound = new Headers([...credentials, ["Accept", "*/*"]]);
    expect([...stripUntrustedHeaders(inbound, PROTECTED).keys()]).toEqual(["accept"]);
    const kept = stripUntrustedHeaders(inbound, PUBLIC);
    expect(kept.get("authorization")).toBe("Bearer abc");
    expect(kept.get("cookie")).toBe("session=1");
    expect(kept.get("dpop")).toBe("proof");
  });

  it("drops credential headers by the shape of their name on protected routes, and keeps what only looks alike", () => {
    const credentials: [string, string][] = [
      ["CF-Access-Client-Id", "id.access"],
      ["CF-Access-Client-Secret", "s"],
      ["Cf-Access-Jwt-Assertion", "jwt"],
      ["cf_access_token", "t"],
      ["X-Authorization", "Bearer abc"],
      ["X-Amz-Security-Token", "t"],
      ["X-Goog-Api-Key", "k"],
      ["X-Goog-Iap-Jwt-Assertion", "jwt"],
      ["Ocp-Apim-Subscription-Key", "k"],
      ["X-RapidAPI-Key", "k"],
      ["X-ApiKey", "k"],
      ["ApiKey", "k"],
      ["Private-Token", "t"],
      ["X-Vault-Token", "t"],
      ["X-Client-Secret", "s"],
      ["X-Auth-Key", "k"],
      ["X-Auth-Email", "a@example.com"],
      ["X-Auth-Request-Access-Token", "t"],
      ["Token", "t"],
    ];
    const ordinary: [string, string][] = [
      ["Accept", "*/*"],
      ["Idempotency-Key", "k1"],
      ["Mcp-Session-Id", "s1"],
      ["Mcp-Protocol-Version", "2026-07-28"],
      ["Last-Event-ID", "7"],
      ["traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"],
      ["X-Monkey", "1"],
    ];
    const inbound = new Headers([...credentials, ...ordinary]);
    const kept = ordinary.map(([name]) => name.toLowerCase()).sort();
    expect([...stripUntrustedHeaders(inbound, PROTECTED).keys()]).toEqual(kept);
    // Public routes keep them: that is where credentials are presented.
    expect([...stripUntrustedHeaders(inbound, PUBLIC).keys()]).toHaveLength(credentials.length + ordinary.length);
  });

  it("drops host overrides, X-Original-*, and the bare X-Forwarded on every route", () => {
    const inbound = new Headers([
      ["X-Host", "evil.example"],
      ["X_Host", "evil.example"],
      ["X-Original-Host", "evil.example"],
      ["X-Host-Override", "evil.example"],
      ["X-Original-Forwarded-For", "1.2.3.4"],
      ["X-Forwarded", "for=1.2.3.4"],
      ["x_forwarded", "for=1.2.3.4"],
      ["Accept", "*/*"],
    ]);
    for (const options of [PROTECTED, PUBLIC]) {
      expect([...stripUntrustedHeaders(inbound, options).keys()]).toEqual(["accept"]);
    }
  });

  it("drops the identity other proxies assert, on every route: only the gateway's headers say who the caller is", () => {
    const names = [
      "Remote-User",
      "Remote-Groups",
      "Remote-Email",
      "X-Remote-User",
      "X-WEBAUTH-USER",
      "X-Authenticated-User",
      "X-Goog-Authenticated-User-Email",
      "X-Amzn-Oidc-Identity",
      "X-MS-CLIENT-PRINCIPAL-NAME",
      "X-MS-Token-AAD-Access-Token",
      "X-SSL-Client-Cert",
      "SSL-Client-Cert",
      "X-Client-Cert",
      "X-ARR-ClientCert",
      "X-Client-Verify",
      "X_User",
      "X-Email",
    ];
    const inbound = new Headers([...names.map((name): [string, string] => [name, "forged"]), ["Accept", "*/*"]]);
    for (const options of [PUBLIC, PROTECTED]) {
      expect([...stripUntrustedHeaders(inbound, options).keys()]).toEqual(["accept"]);
    }
  });

  it("drops identity assertions that share a prefix with credentials on public routes too, and keeps their credentials there", () => {
    // Cloudflare Access and oauth2-proxy put the user's identity next to credentials under one
    // prefix (cf-access-, x-auth-): by prefix alone the email was a credential, kept on public routes.
    const assertions = [
      "Cf-Access-Authenticated-User-Email",
      "cf_access_authenticated_user_email",
      "CF-ACCESS-AUTHENTICATED-USER-ID",
      "X-Auth-Request-User",
      "X-Auth-Request-Email",
      "x_auth_request_groups",
      "X-Auth-Request-Preferred-Username",
    ];
    const credentials = [
      "Cf-Access-Jwt-Assertion",
      "CF-Access-Client-Id",
      "CF-Access-Client-Secret",
      "cf-access-token",
      "X-Auth-Request-Access-Token",
    ];
    const inbound = new Headers([
      ...[...assertions, ...credentials].map((name): [string, string] => [name, "forged"]),
      ["Accept", "*/*"],
    ]);
    const lower = (names: string[]) => names.map((name) => name.toLowerCase());
    expect([...stripUntrustedHeaders(inbound, PUBLIC).keys()]).toEqual(["accept", ...lower(credentials)].sort());
    expect([...stripUntrustedHeaders(inbound, PROTECTED).keys()]).toEqual(["accept"]);
  });

  it("drops method and URL overrides and forwarding headers on every route", () => {
    const inbound = new Headers([
      ["X-HTTP-Method-Override", "DELETE"],
      ["x_http_method_override", "DELETE"],
      ["X-HTTP-Method", "PUT"],
      ["X-Method-Override", "PATCH"],
      ["X-Original-URL", "/admin"],
      ["X-Rewrite-URL", "/admin"],
      ["Forwarded", "for=1.2.3.4"],
      ["X-Forwarded-For", "1.2.3.4"],
      ["X_Forwarded_For", "1.2.3.4"],
      ["X-Forwarded-Host", "evil.example"],
      ["X-Forwarded-Proto", "https"],
      ["X-Forwarded-Prefix", "/admin"],
      ["True-Client-IP", "1.2.3.4"],
      ["True_Client_IP", "1.2.3.4"],
      ["X-Real-IP", "1.2.3.4"],
      ["cf_connecting_ip", "1.2.3.4"],
      ["Accept", "*/*"],
    ]);
    for (const options of [PROTECTED, PUBLIC]) {
      expect([...stripUntrustedHeaders(inbound, options).keys()]).toEqual(["accept"]);
    }
  });
});

describe("setForwardingHeaders", () => {
  function forwarded(url: string, connectingIp?: string) {
    const request = new Request(url, { headers: connectingIp ? { "cf-connecting-ip": connectingIp } : {} });
    const out = new Headers();
    setForwardingHeaders(out, request);
    return Object.fromEntries(out);
  }

  it("judges the same after hundreds of new names as before: the per-isolate memo is bounded, never a gate", () => {
    // More distinct names than the memo keeps: what is judged afresh must be judged alike.
    const noise = new Headers(Array.from({ length: 700 }, (_, i): [string, string] => [`x-noise-${i}`, "1"]));
    expect([...stripUntrustedHeaders(noise, PROTECTED).keys()]).toHaveLength(700);
    const inbound = new Headers([
      ["x-forwarded-anything-new", "1"],
      ["X_USER_ID", "2"],
      ["x-refresh-token", "3"],
      ["x-noise-new", "4"],
    ]);
    expect([...stripUntrustedHeaders(inbound, PROTECTED).keys()]).toEqual(["x-noise-new"]);
    expect([...stripUntrustedHeaders(inbound, PUBLIC).keys()]).toEqual(["x-noise-new", "x-refresh-token"]);
  });

  it("writes the client address from cf-connecting-ip and the scheme and host of the request URL", () => {
    expect(forwarded("https://id.example.com/api/echo", "203.0.113.7")).toEqual({
      "cf-connecting-ip": "203.0.113.7",
      "x-forwarded-for": "203.0.113.7",
      "x-forwarded-proto": "https",
      "x-forwarded-host": "id.example.com",
      forwarded: 'for=203.0.113.7;host="id.example.com";proto=https',
      via: "1.1 mono-auth-gateway",
    });
  });

  it("adds the gateway's Via entry after the caller's, with the protocol it received (RFC 9110 §7.6.3)", () => {
    const viaOf = (headers: HeadersInit, cf?: { httpProtocol: string }) => {
      const request = new Request("https://id.example.com/api/echo", { headers, ...(cf ? { cf } : {}) });
      const out = stripUntrustedHeaders(request.headers, PROTECTED);
      setForwardingHeaders(out, request);
      return out.get("Via");
    };
    expect(viaOf({ Via: "1.1 corporate-proxy" })).toBe(`1.1 corporate-proxy, 1.1 ${VIA_PSEUDONYM}`);
    expect(viaOf({}, { httpProtocol: "HTTP/2" })).toBe(`2 ${VIA_PSEUDONYM}`);
    expect(viaOf({}, { httpProtocol: "HTTP/3" })).toBe(`3 ${VIA_PSEUDONYM}`);
    expect(viaOf({}, { httpProtocol: "SPDY/3.1" })).toBe(`1.1 ${VIA_PSEUDONYM}`);
  });

  it("quotes an IPv6 node (RFC 7239 §6) and says unknown for an address that is not one", () => {
    expect(forwarded("http://localhost:8787/x", "2001:DB8::1").forwarded).toBe(
      'for="[2001:db8::1]";host="localhost:8787";proto=http',
    );
    for (const bogus of [undefined, "1.2.3.4, 5.6.7.8", "evil;proto=https", "999.1.1.1", "fe80::1%eth0"]) {
      const out = forwarded("http://localhost:8787/x", bogus);
      expect(out.forwarded).toBe('for=unknown;host="localhost:8787";proto=http');
      expect(out["x-forwarded-for"]).toBeUndefined();
      expect(out["cf-connecting-ip"]).toBeUndefined();
    }
  });
});
