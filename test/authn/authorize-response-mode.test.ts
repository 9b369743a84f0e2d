// response_mode at the authorization endpoint
// (workers/authn/src/oidc/response-mode.ts): the provider answers in the
// query only, so any other mode is refused as invalid_request, in the query
// of the registered redirect URI (OAuth 2.0 Multiple Response Type Encoding
// Practices §2.1, RFC 6749 §4.1.2.1), never silently ignored.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { OIDC_ENDPOINT, RESPONSE_MODE } from "../../shared/contracts/oidc.ts";
import { ISSUER, oidc, pkce, REDIRECT_URI } from "./oidc-helpers.ts";

const { authorize, browserClient, codeRequest, signUp } = oidc;

const UNSUPPORTED =
  "response_mode must be query, the only one this provider serves (OAuth 2.0 Multiple Response Type Encoding Practices §2.1)";

async function setUp() {
  const person = await signUp();
  const client = await browserClient();
  const { challenge } = await pkce();
  return { person, client, challenge };
}

function redirectOf(response: Response) {
  const url = new URL(response.headers.get("Location") ?? "", ISSUER);
  return { status: response.status, target: `${url.origin}${url.pathname}`, fields: url.searchParams, hash: url.hash };
}

describe("response_mode other than query is refused, not ignored", () => {
  it("refuses form_post, fragment, web_message, JARM's and junk with invalid_request in the redirect URI's query", async () => {
    const { person, client, challenge } = await setUp();
    for (const mode of ["form_post", "fragment", "web_message", "query.jwt", "jwt", "Query", "query ", "junk"]) {
      const request = codeRequest(client.clientId, challenge, { response_mode: mode });
      const response = await authorize(request, person.cookie);
      const { status, target, fields, hash } = redirectOf(response);
      expect({ mode, status, target, hash }).toEqual({ mode, status: 302, target: REDIRECT_URI, hash: "" });
      expect({ mode, fields: Object.fromEntries(fields) }).toEqual({
        mode,
        fields: { error: "invalid_request", error_description: UNSUPPORTED, state: request.state, iss: ISSUER },
      });
    }
  });

  it("refuses a repeated response_mode, even query twice (RFC 6749 §3.1)", async () => {
    const { person, client, challenge } = await setUp();
    const request = codeRequest(client.clientId, challenge, { response_mode: RESPONSE_MODE });
    const query = new URLSearchParams(request);
    query.append("response_mode", RESPONSE_MODE);
    const response = await exports.default.fetch(
      new Request(`${ISSUER}${OIDC_ENDPOINT.authorize}?${query}`, {
        headers: { Cookie: person.cookie, Accept: "text/html", "Sec-Fetch-Mode": "navigate" },
        redirect: "manual",
      }),
    );
    const { target, fields } = redirectOf(response);
    expect([target, fields.get("error"), fields.get("error_description"), fields.get("state")]).toEqual([
      REDIRECT_URI,
      "invalid_request",
      "response_mode must not be repeated (RFC 6749 §3.1)",
      request.state,
    ]);
  });

  it("lets query, an empty response_mode (OIDC Core §3.1.2.1: as if absent) and none through to consent", async () => {
    const { person, client, challenge } = await setUp();
    for (const mode of [RESPONSE_MODE, "", undefined]) {
      const response = await authorize(codeRequest(client.clientId, challenge, { response_mode: mode }), person.cookie);
      expect(response.status, String(mode)).toBe(302);
      expect(new URL(response.headers.get("Location") ?? "", ISSUER).pathname, String(mode)).toBe(ENDPOINT.consent);
    }
  });

  it("is checked before the code_challenge: the one answer is about the mode", async () => {
    const { person, client, challenge } = await setUp();
    const request = codeRequest(client.clientId, challenge, { response_mode: "fragment", code_challenge: "short" });
    const { target, fields, hash } = redirectOf(await authorize(request, person.cookie));
    expect([target, hash, fields.get("error_description")]).toEqual([REDIRECT_URI, "", UNSUPPORTED]);
  });

  it("shows the refusal on our error page, never redirecting, when the redirect URI is not registered", async () => {
    const { person, client, challenge } = await setUp();
    const request = codeRequest(client.clientId, challenge, {
      response_mode: "form_post",
      redirect_uri: "https://evil.example/callback",
    });
    const { status, target, fields } = redirectOf(await authorize(request, person.cookie));
    expect({ status, target }).toEqual({ status: 302, target: `${ISSUER}${ENDPOINT.authApi}/error` });
    expect(Object.fromEntries(fields)).toEqual({ error: "invalid_request", error_description: UNSUPPORTED });
  });
});
