import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import { OIDC_ENDPOINT } from "../../shared/contracts/oidc.ts";
import { ORIGIN } from "./helpers.ts";
import { oidc, pkce, REDIRECT_URI, type TokenResponse } from "./oidc-helpers.ts";

/**
 * The provider's own tokens for userinfo's tests (OIDC Core §5.3), issued
 * through the real authorize, consent and token endpoints.
 */
export type Person = Awaited<ReturnType<typeof oidc.signUp>>;
export type Client = Awaited<ReturnType<typeof oidc.browserClient>>;

/**
 * An opaque access token: a grant without `resource` (Better Auth issues a
 * JWT only when the token request names one), consented to with the
 * person's session as it is now. A new client unless one is given; `scope`
 * replaces the standard request's.
 */
export async function opaqueAccessToken(
  person: Person,
  options: { client?: Client; scope?: string } = {},
): Promise<string> {
  const client = options.client ?? (await oidc.browserClient());
  const { verifier, challenge } = await pkce();
  const back = await oidc.authorizeAndConsent(
    oidc.codeRequest(client.clientId, challenge, {
      resource: undefined,
      ...(options.scope ? { scope: options.scope } : {}),
    }),
    person.cookie,
  );
  const response = await oidc.tokenRequest(
    {
      grant_type: "authorization_code",
      code: back.searchParams.get("code") ?? "",
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    },
    client,
  );
  expect(response.status).toBe(200);
  const token = ((await response.json()) as TokenResponse).access_token;
  expect(token.split(".")).toHaveLength(1);
  return token;
}

/** GET userinfo with the token in the Authorization header (RFC 6750 §2.1, or RFC 9449 §7.1's DPoP scheme). */
export function userinfo(token: string, scheme: "Bearer" | "DPoP" = "Bearer"): Promise<Response> {
  return exports.default.fetch(
    new Request(`${ORIGIN}${OIDC_ENDPOINT.userinfo}`, { headers: { Authorization: `${scheme} ${token}` } }),
  );
}

/** POST userinfo with a form body as given (RFC 6750 §2.2), which Better Auth's userinfo reads too. */
export function userinfoByForm(body: string): Promise<Response> {
  return exports.default.fetch(
    new Request(`${ORIGIN}${OIDC_ENDPOINT.userinfo}`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body,
    }),
  );
}

/** The provider's row key of an opaque token: it stores the base64url SHA-256 of the token. */
export async function storedTokenHash(token: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token)));
  return btoa(String.fromCharCode(...digest))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replaceAll("=", "");
}
