// A token, revocation or introspection request whose parameter percent-decodes
// to bytes that are not UTF-8 (`%ff`, an encoded surrogate `%ED%A0%80`, an
// overlong `%C0%AF`) is 400 invalid_request (RFC 6749 §3.2 and Appendix B:
// the form is UTF-8), as a raw byte that is not UTF-8 already was. URLSearchParams
// read them as U+FFFD, so the request went on as one that said something else
// (an invalid_scope for a scope never sent, a 200 revocation of a token never named).
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { CLIENT_ASSERTION_TYPE_JWT_BEARER, GRANT_TYPE } from "../../shared/contracts/tokens.ts";
import { basicAuthorization, registerTestClient } from "./clients-fixtures.ts";
import { expectOAuthError, formRequest, tokenRequest } from "./fixtures.ts";

async function basic() {
  const client = await registerTestClient();
  return { Authorization: basicAuthorization(client.clientId, client.secret) };
}

function post(path: string, body: string, headers: Record<string, string>) {
  return formRequest(path, body, { headers });
}

describe("a parameter that is not UTF-8 once percent-decoded", () => {
  it("token endpoint: 400 invalid_request naming the parameter", async () => {
    const headers = await basic();
    for (const [name, escaped] of [
      ["scope", "%ff"],
      ["resource", "%ED%A0%80"],
      ["scope", "documents%3Aread%C0%AF"],
    ] as const) {
      const response = await tokenRequest(`grant_type=${GRANT_TYPE.clientCredentials}&${name}=${escaped}`, {
        headers,
      });
      const body = await expectOAuthError(response, 400, "invalid_request");
      expect(body.error_description).toBe(`parameter ${name} is not UTF-8 once percent-decoded`);
    }
  });

  it("revocation and introspection: 400 invalid_request, not a 200 about another token", async () => {
    const headers = await basic();
    for (const path of [ENDPOINT.revocation, ENDPOINT.introspection]) {
      const body = await expectOAuthError(await post(path, "token=%ff%fe", headers), 400, "invalid_request");
      expect(body.error_description).toBe("parameter token is not UTF-8 once percent-decoded");
    }
  });

  it("names a parameter with an empty name as such, not as two spaces", async () => {
    const headers = await basic();
    const repeated = await tokenRequest(`grant_type=${GRANT_TYPE.clientCredentials}&=a&=b`, { headers });
    const body = await expectOAuthError(repeated, 400, "invalid_request");
    expect(body.error_description).toBe("a parameter with an empty name is repeated");
    const illFormed = await tokenRequest(`grant_type=${GRANT_TYPE.clientCredentials}&=%ff`, { headers });
    expect((await expectOAuthError(illFormed, 400, "invalid_request")).error_description).toBe(
      "a parameter with an empty name is not UTF-8 once percent-decoded",
    );
  });

  it("leaves well-formed escapes and text that only looks like one alone", async () => {
    const headers = await basic();
    // A euro sign, escaped, and a `%zz` the form parser keeps as text: each an unknown scope, not a malformed request.
    for (const scope of ["%E2%82%AC", "%zz"]) {
      const response = await tokenRequest(`grant_type=${GRANT_TYPE.clientCredentials}&scope=${scope}`, { headers });
      await expectOAuthError(response, 400, "invalid_scope");
    }
  });
});

describe("an error description repeats what was sent only in RFC 6749 §5.2's characters", () => {
  // §5.2: error_description "MUST NOT include characters outside the set %x20-21 / %x23-5B / %x5D-7E".
  const ALLOWED = /^[\x20-\x21\x23-\x5B\x5D-\x7E]*$/;
  // A quote, a backslash, a line break, a right-to-left override and a NUL, escaped in the form.
  const HOSTILE = "x%22%5C%0D%0A%E2%80%AE%00y";

  it("a repeated or ill-formed parameter's name and an unknown scope are shown with ? for anything else", async () => {
    const headers = await basic();
    const grant = `grant_type=${GRANT_TYPE.clientCredentials}`;
    const repeated = await expectOAuthError(
      await tokenRequest(`${grant}&${HOSTILE}=a&${HOSTILE}=b`, { headers }),
      400,
      "invalid_request",
    );
    expect(repeated.error_description).toBe("parameter x??????y is repeated");
    const illFormed = await expectOAuthError(
      await tokenRequest(`${grant}&${HOSTILE}=%ff`, { headers }),
      400,
      "invalid_request",
    );
    expect(illFormed.error_description).toMatch(ALLOWED);
    const scope = await expectOAuthError(
      await tokenRequest(`${grant}&scope=documents:read+${HOSTILE}`, { headers }),
      400,
      "invalid_scope",
    );
    expect(scope.error_description).toBe("scope x??????y is not allowed for this client");
    // The revocation and introspection endpoints read their forms the same way.
    for (const path of [ENDPOINT.revocation, ENDPOINT.introspection]) {
      const body = await expectOAuthError(
        await post(path, `token=a&${HOSTILE}=1&${HOSTILE}=2`, headers),
        400,
        "invalid_request",
      );
      expect(body.error_description).toMatch(ALLOWED);
    }
  });

  it("a browser client's refusal, restated from the authn Worker, is shown in those characters too", async () => {
    // A client assertion naming a browser client (`oidc_…`) whose `alg` is a quote and a right-to-left
    // override: the authn Worker refuses it repeating the `alg` ("unsupported assertion signing
    // algorithm: …"), unauthenticated, and all three endpoints restate that refusal.
    const part = (json: string) => btoa(json).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
    const assertion = `${part('{"alg":"\\"\\u202e"}')}.${part('{"sub":"oidc_x","iss":"oidc_x"}')}.AAAA`;
    const form = {
      grant_type: "refresh_token",
      refresh_token: "a",
      token: "a",
      client_assertion_type: CLIENT_ASSERTION_TYPE_JWT_BEARER,
      client_assertion: assertion,
    };
    for (const path of [ENDPOINT.token, ENDPOINT.revocation, ENDPOINT.introspection]) {
      const body = await expectOAuthError(await formRequest(path, form), 401, "invalid_client");
      expect(body.error_description).toBe("unsupported assertion signing algorithm: ??");
    }
  });
});
