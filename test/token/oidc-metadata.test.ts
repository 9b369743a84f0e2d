import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { OIDC_ENDPOINT, RESPONSE_MODE } from "../../shared/contracts/oidc.ts";
import { GRANT_TYPE } from "../../shared/contracts/tokens.ts";

async function document(path: string) {
  const response = await exports.default.fetch(`http://localhost${path}`);
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

describe("one issuer: the browser OpenID provider in the token Worker's metadata", () => {
  for (const path of [ENDPOINT.authorizationServerMetadata, ENDPOINT.openIdConfiguration]) {
    it(`${path} advertises the code flow with PKCE S256 and RFC 9207 iss`, async () => {
      const doc = await document(path);
      expect(doc).toMatchObject({
        issuer: env.ISSUER,
        authorization_endpoint: `${env.ISSUER}${OIDC_ENDPOINT.authorize}`,
        userinfo_endpoint: `${env.ISSUER}${OIDC_ENDPOINT.userinfo}`,
        end_session_endpoint: `${env.ISSUER}${OIDC_ENDPOINT.endSession}`,
        // One token endpoint and one JWKS for every grant and every token.
        token_endpoint: `${env.ISSUER}${ENDPOINT.token}`,
        jwks_uri: `${env.ISSUER}${ENDPOINT.jwks}`,
        // RFC 9700 §2.1.1 / §2.1.2: code only (no implicit, no hybrid); never `plain`.
        response_types_supported: ["code"],
        // The one mode the authorization endpoint serves; any other is refused there (test/authn/authorize-response-mode.test.ts).
        response_modes_supported: [RESPONSE_MODE],
        code_challenge_methods_supported: ["S256"],
        authorization_response_iss_parameter_supported: true,
        // OIDC Discovery §3's default is true; requests by reference are refused at authorize.
        request_uri_parameter_supported: false,
      });
      expect(doc.grant_types_supported).toEqual(
        expect.arrayContaining(["authorization_code", "refresh_token", GRANT_TYPE.clientCredentials]),
      );
      expect(doc.grant_types_supported).not.toContain("implicit");
      expect(doc.scopes_supported).toEqual(expect.arrayContaining(["openid", "offline_access", "documents:read"]));
      // `admin` is the operators' scope: never offered.
      expect(doc.scopes_supported).not.toContain("admin");
      // GHSA-9h47-pqcx-hjr4: no open dynamic client registration is advertised.
      expect(doc).not.toHaveProperty("registration_endpoint");
    });
  }

  it("OpenID discovery lists the ID token's algorithm and claims", async () => {
    const doc = await document(ENDPOINT.openIdConfiguration);
    expect(doc).toMatchObject({
      id_token_signing_alg_values_supported: ["ES256"],
      subject_types_supported: ["public"],
    });
    expect(doc.claims_supported).toEqual(expect.arrayContaining(["sub", "iss", "nonce", "email", "sid"]));
  });
});
