import { expect } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { OIDC_ENDPOINT } from "../../shared/contracts/oidc.ts";
import { CookieBrowser } from "./cookie-browser.ts";
import { pkcePair } from "./pkce.ts";
import type { RunningSystem } from "./system.ts";

export interface CodeRequest {
  clientId: string;
  redirectUri: string;
  scope: string;
  resource: string;
  /** More authorization request parameters (`prompt`, …). */
  extra?: Record<string, string>;
}

/**
 * A new person signs up, follows a PKCE (S256) authorization request for
 * the client and allows it on the consent page: the token request's fields
 * for the code the callback got (RFC 6749 §4.1.3, RFC 7636 §4.5). The
 * authorize endpoint answers Node's `Sec-Fetch-Mode: cors` with `{ url }`
 * instead of a 302; either is followed.
 */
export async function consentedCode(system: RunningSystem, request: CodeRequest): Promise<Record<string, string>> {
  const browser = new CookieBrowser(system);
  const signUp = await browser.post(ENDPOINT.signUp, {
    name: "Consenting Person",
    email: `${crypto.randomUUID()}@example.com`,
    password: "correct horse battery staple",
  });
  expect(signUp.status).toBe(303);
  const { verifier, challenge } = await pkcePair();
  const query = new URLSearchParams({
    response_type: "code",
    client_id: request.clientId,
    redirect_uri: request.redirectUri,
    scope: request.scope,
    state: "s",
    code_challenge: challenge,
    code_challenge_method: "S256",
    resource: request.resource,
    ...request.extra,
  });
  const authorize = await browser.get(`${system.origin}${OIDC_ENDPOINT.authorize}?${query}`);
  const target = new URL(
    authorize.status === 302
      ? (authorize.headers.get("Location") ?? "")
      : (((await authorize.json()) as { url?: string }).url ?? ""),
    system.origin,
  );
  expect(target.pathname).toBe(ENDPOINT.consent);
  const consent = await browser.post(ENDPOINT.consent, { oauth_query: target.search.slice(1), accept: "true" });
  expect(consent.status).toBe(303);
  const callback = new URL(consent.headers.get("Location") ?? "");
  expect(`${callback.origin}${callback.pathname}`).toBe(request.redirectUri);
  return {
    grant_type: "authorization_code",
    code: callback.searchParams.get("code") ?? "",
    redirect_uri: request.redirectUri,
    code_verifier: verifier,
    resource: request.resource,
  };
}
