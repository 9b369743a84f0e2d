import { env } from "cloudflare:workers";
import { decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { tokenService } from "../../workers/authn/src/config.ts";
import { verifyAccessToken } from "../../shared/jwt/verify-access-token.ts";
import { ISSUER, oidc, pkce, REDIRECT_URI, type TokenResponse } from "./oidc-helpers.ts";

const { authorizeAndConsent, browserClient, codeRequest, signUp, tokenRequest, verifyIdToken } = oidc;

/** The gateway's verifier, on the issuer's keys as the token Worker holds them. */
async function verifyAtGatewayRules(token: string) {
  const { keys } = await tokenService(env).jwks();
  return verifyAccessToken(token, {
    issuer: ISSUER,
    audience: env.API_AUDIENCE,
    resolveKey: async (kid) => {
      const jwk = keys.find((k) => (k as { kid?: string }).kid === kid);
      return jwk
        ? crypto.subtle.importKey("jwk", jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"])
        : undefined;
    },
  });
}

/** The ids (the `kid` it signs with) of the keys in Better Auth's jwt plugin table (docs/storage-schema.md: it stays empty). */
async function betterAuthKeyIds(): Promise<string[]> {
  const { results } = await env.DB.prepare("SELECT id FROM jwks ORDER BY id").all<{ id: string }>();
  return results.map((row) => row.id);
}

describe("browser OpenID provider: authorization code + PKCE on the one issuer", () => {
  it("issues an ID token and an at+jwt access token signed with the token Worker's key, for the active org", async () => {
    // Better Auth's own key table, as this test found it: the authn project's files share one runtime (vitest.config.ts).
    const keysBefore = await betterAuthKeyIds();
    const person = await signUp();
    const client = await browserClient();
    const { verifier, challenge } = await pkce();
    const request = codeRequest(client.clientId, challenge);

    const back = await authorizeAndConsent(request, person.cookie);
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT_URI);
    expect(back.searchParams.get("state")).toBe(request.state);
    // RFC 9207 §2: the authorization response names the issuer.
    expect(back.searchParams.get("iss")).toBe(ISSUER);
    const code = back.searchParams.get("code") ?? "";
    expect(code).not.toBe("");

    const response = await tokenRequest(
      {
        grant_type: "authorization_code",
        code,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
        resource: env.API_AUDIENCE,
      },
      client,
    );
    expect(response.status).toBe(200);
    const tokens = (await response.json()) as TokenResponse;
    expect(tokens.token_type).toBe("Bearer");
    expect(tokens.refresh_token).toBeTruthy();

    // One JWKS: the access token passes the gateway's own verifier.
    expect(decodeProtectedHeader(tokens.access_token).typ).toBe("at+jwt");
    const claims = await verifyAtGatewayRules(tokens.access_token);
    expect(claims).toMatchObject({ iss: ISSUER, sub: person.userId, client_id: client.clientId, org_id: person.orgId });
    expect(claims.scope?.split(" ")).toContain("documents:read");

    const id = await verifyIdToken(tokens.id_token ?? "", client.clientId);
    expect(id).toMatchObject({ iss: ISSUER, sub: person.userId, aud: client.clientId, nonce: request.nonce });

    // No second JWKS: this sign-in, authorization and token request made no key in Better Auth's own
    // table, and neither token was signed by a key of it (one another file's run might have left there).
    expect(await betterAuthKeyIds()).toEqual(keysBefore);
    const kids = [tokens.access_token, tokens.id_token ?? ""].map((token) => decodeProtectedHeader(token).kid);
    expect(kids.every((kid) => typeof kid === "string" && !keysBefore.includes(kid))).toBe(true);
  });
});
