import { afterAll, beforeAll, expect } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { DEMO_MCP_SERVER, mcpResource } from "../../shared/contracts/mcp.ts";
import { OIDC_ENDPOINT } from "../../shared/contracts/oidc.ts";
import { CLIENT_ASSERTION_TYPE_JWT_BEARER } from "../../shared/contracts/tokens.ts";
import { answerConsentPage } from "./consent-form.ts";
import { CookieBrowser } from "./cookie-browser.ts";
import { pkcePair } from "./pkce.ts";
import { ASSERTING_CLIENT } from "./runtime/cimd-host/assertion-signer.ts";
import { type RunningSystem, startSystem } from "./system.ts";

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
  const consent = await answerConsentPage(browser, target);
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

/** Where the document client of test/support/runtime/cimd-host `/clients/private-key-jwt` is sent back. */
const ASSERTING_CALLBACK = "https://client.example.test/callback";

export interface AssertingClientSystem {
  /** The whole system, with the metadata-document host (`cimdHost`). */
  system: RunningSystem;
  /** The issuer its discovery names: the `aud` of the client's assertions (RFC 7523 §3). */
  issuer: string;
  /** The demo MCP server's resource at that issuer. */
  resource: string;
}

/**
 * Before the file's tests: the whole system with the metadata-document
 * host, whose `private_key_jwt` document client (ASSERTING_CLIENT) any test
 * may use, handed to `started`; after them, stops it.
 */
export function assertingClientSystem(started: (setup: AssertingClientSystem) => void): void {
  let system: RunningSystem | undefined;
  beforeAll(async () => {
    system = await startSystem({ cimdHost: true });
    const discovery = await system.fetch(ENDPOINT.openIdConfiguration);
    const issuer = ((await discovery.json()) as { issuer: string }).issuer;
    started({ system, issuer, resource: mcpResource(issuer, DEMO_MCP_SERVER.name) });
  }, 120_000);
  afterAll(() => system?.close());
}

/** A new person's consented code (a refresh token asked for) of the document client for `resource`: its fields. */
export function assertingClientCode(system: RunningSystem, resource: string): Promise<Record<string, string>> {
  return consentedCode(system, {
    clientId: ASSERTING_CLIENT,
    redirectUri: ASSERTING_CALLBACK,
    scope: "openid offline_access",
    resource,
    extra: { prompt: "consent" },
  });
}

/** A token request authenticated by `assertion` (RFC 7523 §2.2); `client_id` only if `fields` names it (RFC 7521 §4.2). */
export function assertedTokenRequest(
  system: RunningSystem,
  fields: Record<string, string>,
  assertion: string,
): Promise<Response> {
  return system.fetch(ENDPOINT.token, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      ...fields,
      client_assertion_type: CLIENT_ASSERTION_TYPE_JWT_BEARER,
      client_assertion: assertion,
    }),
  });
}
