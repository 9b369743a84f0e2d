import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { BrowserClientInputError, checkRedirectUri } from "../../shared/oidc/browser-clients.ts";
import { consentFormFields } from "../support/consent-form.ts";
import { ISSUER, oidc, pkce, REDIRECT_URI } from "./oidc-helpers.ts";

const { answerConsent, authorize, browserClient, codeRequest, consentForm, showConsentPage, signUp } = oidc;

/** The redirect back to the client, as the query (or, for a refused response type, fragment) it carries. */
function answer(response: Response) {
  const location = response.headers.get("Location") ?? "";
  const url = new URL(location, ISSUER);
  const fields = new URLSearchParams(url.search || url.hash.slice(1));
  return { status: response.status, location, target: `${url.origin}${url.pathname}`, fields };
}

async function setUp() {
  const person = await signUp();
  const client = await browserClient();
  const { challenge, verifier } = await pkce();
  return { person, client, challenge, verifier };
}

describe("authorization endpoint: PKCE S256 only (RFC 7636, RFC 9700 §2.1.1)", () => {
  it("refuses code_challenge_method=plain with invalid_request, and says who answered (RFC 9207)", async () => {
    const { person, client, verifier } = await setUp();
    const request = codeRequest(client.clientId, verifier, { code_challenge_method: "plain" });
    const { status, target, fields } = answer(await authorize(request, person.cookie));
    expect(status).toBe(302);
    expect(target).toBe(REDIRECT_URI);
    expect(fields.get("error")).toBe("invalid_request");
    expect(fields.get("error_description")).toBe("code_challenge_method must be one of: S256");
    expect(fields.get("state")).toBe(request.state);
    expect(fields.get("iss")).toBe(ISSUER);
    expect(fields.has("code")).toBe(false);
  });

  it("refuses a request without a code_challenge with invalid_request", async () => {
    const { person, client, challenge } = await setUp();
    const request = codeRequest(client.clientId, challenge, {
      code_challenge: undefined,
      code_challenge_method: undefined,
    });
    const { target, fields } = answer(await authorize(request, person.cookie));
    expect(target).toBe(REDIRECT_URI);
    expect(fields.get("error")).toBe("invalid_request");
    expect(fields.get("error_description")).toBe("pkce is required for this client");
    expect(fields.get("iss")).toBe(ISSUER);
  });

  it("refuses a public client without PKCE too", async () => {
    const person = await signUp();
    const client = await browserClient({ type: "public" });
    const request = codeRequest(client.clientId, "", { code_challenge: undefined, code_challenge_method: undefined });
    const { fields } = answer(await authorize(request, person.cookie));
    expect(fields.get("error")).toBe("invalid_request");
  });

  it("serves the code flow only: response_type=token is unsupported_response_type (RFC 9700 §2.1.2)", async () => {
    const { person, client, challenge } = await setUp();
    const { fields } = answer(
      await authorize(codeRequest(client.clientId, challenge, { response_type: "token" }), person.cookie),
    );
    expect(fields.get("error")).toBe("unsupported_response_type");
    expect(fields.has("access_token")).toBe(false);
  });

  it("refuses an RFC 8707 resource that is not registered with invalid_target", async () => {
    const { person, client, challenge } = await setUp();
    const request = codeRequest(client.clientId, challenge, { resource: "https://evil.example/api" });
    const { fields } = answer(await authorize(request, person.cookie));
    expect(fields.get("error")).toBe("invalid_target");
    expect(fields.get("iss")).toBe(ISSUER);
  });
});

describe("GHSA-86j7-9j95-vpqj: redirect_uri must equal a registered URI exactly (RFC 9700 §4.1.3)", () => {
  const near = [
    ["a trailing slash", `${REDIRECT_URI}/`],
    ["another port", "https://rp.example.test:8443/callback"],
    ["another path", "https://rp.example.test/callback2"],
    ["a path below it", "https://rp.example.test/callback/evil"],
    ["an added query", `${REDIRECT_URI}?next=https://evil.example`],
    ["userinfo naming the real host", "https://rp.example.test@evil.example/callback"],
    ["another host", "https://evil.example/callback"],
    ["another case in the host", "https://RP.example.test/callback"],
  ] as const;
  for (const [what, uri] of near) {
    it(`never redirects to ${what}: invalid_redirect on our own error page`, async () => {
      const { person, client, challenge } = await setUp();
      const response = await authorize(codeRequest(client.clientId, challenge, { redirect_uri: uri }), person.cookie);
      const { status, location, fields } = answer(response);
      expect(status).toBe(302);
      // RFC 6749 §4.1.2.1: with an invalid redirect URI the person is told, the client is not.
      expect(location.startsWith(`${ISSUER}${ENDPOINT.authApi}/error?`)).toBe(true);
      expect(fields.get("error")).toBe("invalid_redirect");
    });
  }

  it("refuses http for a non-loopback host before comparing", async () => {
    const { person, client, challenge } = await setUp();
    const response = await authorize(
      codeRequest(client.clientId, challenge, { redirect_uri: "http://rp.example.test/callback" }),
      person.cookie,
    );
    const { location, fields } = answer(response);
    expect(location.startsWith(`${ISSUER}${ENDPOINT.authApi}/error?`)).toBe(true);
    expect(fields.get("error")).toBe("invalid_request");
  });

  it("registration refuses URIs with userinfo, a fragment, plain http or a non-normal form", () => {
    for (const uri of [
      "https://rp.example.test@evil.example/cb",
      "https://rp.example.test/cb#frag",
      "http://rp.example.test/cb",
      "https://RP.example.test/cb",
      "rp.example.test/cb",
    ]) {
      expect(() => checkRedirectUri(uri), uri).toThrow(BrowserClientInputError);
    }
    expect(checkRedirectUri("http://localhost:3000/cb")).toBe("http://localhost:3000/cb");
  });
});

describe("consent page", () => {
  it("shows the client's name, the active org and the scopes, then Deny answers access_denied with iss", async () => {
    const { person, client, challenge } = await setUp();
    const request = codeRequest(client.clientId, challenge);
    const first = await authorize(request, person.cookie);
    const location = first.headers.get("Location") ?? "";
    expect(location.startsWith(`${ENDPOINT.consent}?`) || location.startsWith(`${ISSUER}${ENDPOINT.consent}?`)).toBe(
      true,
    );

    const page = await showConsentPage(location, person.cookie);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("Example RP");
    expect(html).toContain(client.clientId);
    expect(html).toContain("documents:read");
    expect(html).toContain("offline_access");
    const org = await env.DB.prepare("SELECT name FROM organization WHERE id = ?")
      .bind(person.orgId)
      .first<{ name: string }>();
    // hono/jsx escapes text: the org's name as the page carries it.
    const escaped = (org?.name ?? "no org").replaceAll("&", "&amp;").replaceAll("'", "&#39;");
    expect(html).toContain(`data-testid="consent-org">${escaped}<`);
    expect(page.headers.get("Content-Security-Policy")).toContain("form-action 'self' https://rp.example.test");
    expect(page.headers.get("X-Frame-Options")).toBe("DENY");

    const denied = await answerConsent(consentFormFields(html), false, person.cookie);
    expect(denied.status).toBe(303);
    const { target, fields } = answer(denied);
    expect(target).toBe(REDIRECT_URI);
    expect(fields.get("error")).toBe("access_denied");
    expect(fields.get("state")).toBe(request.state);
    expect(fields.get("iss")).toBe(ISSUER);
  });

  it("names the RFC 8707 resources the tokens will be for, so an MCP server is consented to by name", async () => {
    const person = await signUp();
    const demo = `${ISSUER}${ENDPOINT.mcpDemo}`;
    const client = await browserClient({ resources: [demo] });
    const { challenge } = await pkce();
    const first = await authorize(codeRequest(client.clientId, challenge, { resource: demo }), person.cookie);
    const page = await showConsentPage(first.headers.get("Location") ?? "", person.cookie);
    expect(page.status).toBe(200);
    const html = await page.text();
    const listed = html.slice(html.indexOf('data-testid="consent-resources"'));
    expect(html).toContain('data-testid="consent-resources"');
    expect(listed.slice(0, listed.indexOf("</ul>"))).toContain(`<code>${demo}</code>`);
  });

  it("refuses a consent post from another origin (CSRF): 403 cross_origin_post", async () => {
    const { person, client, challenge } = await setUp();
    const location =
      (await authorize(codeRequest(client.clientId, challenge), person.cookie)).headers.get("Location") ?? "";
    const response = await answerConsent(
      await consentForm(location, person.cookie),
      true,
      person.cookie,
      "https://evil.example",
    );
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: string }).error).toBe("cross_origin_post");
  });

  it("refuses a tampered request (another redirect URI in the signed query): no code is issued", async () => {
    const { person, client, challenge } = await setUp();
    const location =
      (await authorize(codeRequest(client.clientId, challenge), person.cookie)).headers.get("Location") ?? "";
    const form = await consentForm(location, person.cookie);
    const query = new URLSearchParams(form.oauth_query);
    query.set("scope", "openid documents:read ssf:manage");
    const response = await answerConsent({ ...form, oauth_query: query.toString() }, true, person.cookie);
    expect(response.status).toBe(400);
    expect(response.headers.get("Location")).toBeNull();
  });

  it("shows no page for an unknown client (400)", async () => {
    const person = await signUp();
    const response = await showConsentPage(
      `${ENDPOINT.consent}?client_id=oidc_nope&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&scope=openid`,
      person.cookie,
    );
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("not registered");
  });
});

describe("a signed-out person", () => {
  it("is sent to sign in, and once signed in comes back to the authorization (then consent), once", async () => {
    const client = await browserClient();
    const { challenge } = await pkce();
    const request = codeRequest(client.clientId, challenge);
    const signedOut = await authorize(request, "");
    expect(signedOut.status).toBe(302);
    expect(new URL(signedOut.headers.get("Location") ?? "", ISSUER).pathname).toBe(ENDPOINT.signIn);
    const kept = signedOut.headers.getSetCookie().find((c) => c.startsWith("mono.oidc_resume="));
    expect(kept).toMatch(/HttpOnly/);
    expect(kept).toMatch(/SameSite=Lax/);
    expect(kept).toMatch(/Max-Age=600/);
    const resumeCookie = (kept ?? "").split(";")[0];

    const person = await signUp();
    const landed = await exports.default.fetch(
      new Request(`${ISSUER}${ENDPOINT.app}`, {
        headers: { Cookie: `${person.cookie}; ${resumeCookie}` },
        redirect: "manual",
      }),
    );
    expect(landed.status).toBe(303);
    const resumed = new URL(landed.headers.get("Location") ?? "", ISSUER);
    expect(resumed.pathname).toBe(`${ENDPOINT.authApi}/oauth2/authorize`);
    expect(resumed.searchParams.get("state")).toBe(request.state);
    // The cookie is spent.
    expect(landed.headers.getSetCookie().some((c) => c.startsWith("mono.oidc_resume=;"))).toBe(true);

    const consent = await authorize(Object.fromEntries(resumed.searchParams), person.cookie);
    expect(new URL(consent.headers.get("Location") ?? "", ISSUER).pathname).toBe(ENDPOINT.consent);
  });
});

describe("GHSA-9h47-pqcx-hjr4: no open client registration", () => {
  const registration = { redirect_uris: ["https://evil.example/cb"], token_endpoint_auth_method: "none" };
  async function register(path: string, cookie?: string) {
    return exports.default.fetch(
      new Request(`${ISSUER}${ENDPOINT.authApi}${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Origin: ISSUER, ...(cookie ? { Cookie: cookie } : {}) },
        body: JSON.stringify(registration),
      }),
    );
  }

  it("refuses dynamic client registration without a session", async () => {
    const response = await register("/oauth2/register");
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: string }).error).toBe("access_denied");
  });

  it("refuses dynamic client registration for a signed-in person", async () => {
    const person = await signUp();
    const response = await register("/oauth2/register", person.cookie);
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: string }).error).toBe("access_denied");
  });

  it("a signed-in person cannot create a client through Better Auth's client API either", async () => {
    const person = await signUp();
    const response = await register("/oauth2/create-client", person.cookie);
    expect(response.status).toBe(401);
    const { n } = (await env.DB.prepare("SELECT count(*) AS n FROM oidc_client WHERE redirect_uris LIKE ?")
      .bind("%evil.example%")
      .first<{ n: number }>()) ?? { n: -1 };
    expect(n).toBe(0);
  });

  it("Better Auth's own token and revocation paths are closed to the internet: 404 (the issuer's are /oauth2/*)", async () => {
    for (const path of ["/oauth2/token", "/oauth2/revoke"]) {
      const response = await exports.default.fetch(
        new Request(`${ISSUER}${ENDPOINT.authApi}${path}`, {
          method: "POST",
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
          body: "grant_type=authorization_code&code=x&token=x",
        }),
      );
      expect(response.status, path).toBe(404);
      expect(((await response.json()) as { error: string }).error).toBe("not_found");
    }
  });

  it("Better Auth's own introspection is closed too: a client's real tokens get 404, never its revocation-blind answer", async () => {
    // RFC 7662 §2.2: `active` says the token was not revoked. Better Auth's
    // copy knows none of the issuer's revocations (session, subject, org:
    // docs/revocation.md), took any client secret without the token
    // endpoint's limits, and fetched the JWKS over the network for a JWT
    // (a 500 here). The issuer's is ENDPOINT.introspection.
    const { client, tokens } = await oidc.issuedTokens();
    for (const token of [tokens.access_token, tokens.refresh_token ?? ""]) {
      const response = await exports.default.fetch(
        new Request(`${ISSUER}${ENDPOINT.authApi}/oauth2/introspect`, {
          method: "POST",
          headers: {
            "Content-Type": "application/x-www-form-urlencoded",
            Authorization: `Basic ${btoa(`${client.clientId}:${client.clientSecret}`)}`,
          },
          body: new URLSearchParams({ token }),
        }),
      );
      expect(response.status).toBe(404);
      expect(((await response.json()) as { error: string }).error).toBe("not_found");
    }
  });

  it("Better Auth's own JWKS and session-JWT endpoints are closed: one JWKS, one issuer", async () => {
    const person = await signUp();
    const jwks = await exports.default.fetch(new Request(`${ISSUER}${ENDPOINT.authApi}/jwks`));
    expect(jwks.status).toBe(404);
    const sessionJwt = await exports.default.fetch(
      new Request(`${ISSUER}${ENDPOINT.authApi}/token`, { headers: { Cookie: person.cookie } }),
    );
    expect(sessionJwt.status).toBe(404);
  });
});
