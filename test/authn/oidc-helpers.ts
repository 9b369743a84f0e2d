import { env, exports } from "cloudflare:workers";
import { createLocalJWKSet, type JWTPayload, jwtVerify } from "jose";
import { OIDC_ENDPOINT } from "../../shared/contracts/oidc.ts";
import { type BrowserClientInput, registerBrowserClient } from "../../shared/oidc/browser-clients.ts";
import { tokenService } from "../../workers/authn/src/config.ts";
import { clientAddress, ORIGIN } from "./helpers.ts";

export const REDIRECT_URI = "https://rp.example.test/callback";
export const ISSUER = ORIGIN;

/** A browser client registered as the operator's admin API registers one (shared/oidc/browser-clients.ts). */
export async function browserClient(overrides: Partial<BrowserClientInput> = {}) {
  const { client, clientSecret } = await registerBrowserClient(env.DB, {
    name: "Example RP",
    redirectUris: [REDIRECT_URI],
    type: "confidential",
    scopes: ["openid", "profile", "email", "offline_access", "documents:read"],
    resources: [env.API_AUDIENCE],
    ...overrides,
  });
  return { clientId: client.client_id, clientSecret: clientSecret ?? "" };
}

function base64Url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replaceAll("=", "");
}

/** RFC 7636 §4.1-4.2: a verifier and its S256 challenge. */
export async function pkce() {
  const verifier = base64Url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = base64Url(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))),
  );
  return { verifier, challenge };
}

export function authorizeUrl(params: Record<string, string>): string {
  return `${ORIGIN}${OIDC_ENDPOINT.authorize}?${new URLSearchParams(params)}`;
}

/** GET the authorize endpoint as the person's browser would (their cookie, a navigation). */
export function authorize(params: Record<string, string>, cookie: string) {
  return exports.default.fetch(
    new Request(authorizeUrl(params), {
      headers: { Cookie: cookie, Accept: "text/html", "Sec-Fetch-Mode": "navigate" },
      redirect: "manual",
    }),
  );
}

/** The standard request of these tests, with any parameter replaced or removed (undefined). */
export function codeRequest(clientId: string, challenge: string, overrides: Record<string, string | undefined> = {}) {
  const params: Record<string, string | undefined> = {
    response_type: "code",
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    scope: "openid profile email offline_access documents:read",
    state: crypto.randomUUID(),
    nonce: crypto.randomUUID(),
    code_challenge: challenge,
    code_challenge_method: "S256",
    resource: env.API_AUDIENCE,
    ...overrides,
  };
  return Object.fromEntries(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined));
}

export function showConsentPage(location: string, cookie: string) {
  return exports.default.fetch(
    new Request(new URL(location, ORIGIN), { headers: { Cookie: cookie }, redirect: "manual" }),
  );
}

/** POST /consent as the consent page's form does. */
export function answerConsent(oauthQuery: string, accept: boolean, cookie: string, origin = ORIGIN) {
  return exports.default.fetch(
    new Request(`${ORIGIN}/consent`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: cookie, Origin: origin },
      body: new URLSearchParams({ oauth_query: oauthQuery, accept: String(accept) }),
      redirect: "manual",
    }),
  );
}

/** authorize → consent page → allow: the redirect back to the client (code, state, iss). */
export async function authorizeAndConsent(params: Record<string, string>, cookie: string): Promise<URL> {
  const first = await authorize(params, cookie);
  const location = first.headers.get("Location") ?? "";
  if (first.status !== 302 || !location.includes("/consent?")) {
    throw new Error(`authorize did not ask for consent: ${first.status} ${location} ${await first.text()}`);
  }
  const consent = await answerConsent(new URL(location, ORIGIN).search.slice(1), true, cookie);
  if (consent.status !== 303) throw new Error(`consent failed: ${consent.status} ${await consent.text()}`);
  return new URL(consent.headers.get("Location") ?? "");
}

/** Better Auth's token endpoint, as the token Worker's ENDPOINT.token forwards to it. */
export function tokenRequest(fields: Record<string, string>, client?: { clientId: string; clientSecret: string }) {
  const headers: Record<string, string> = {
    "Content-Type": "application/x-www-form-urlencoded",
    "cf-connecting-ip": clientAddress(),
  };
  if (client) headers.Authorization = `Basic ${btoa(`${client.clientId}:${client.clientSecret}`)}`;
  return exports.default.fetch(
    new Request(`${ORIGIN}${OIDC_ENDPOINT.token}`, { method: "POST", headers, body: new URLSearchParams(fields) }),
  );
}

export interface TokenResponse {
  access_token: string;
  id_token?: string;
  refresh_token?: string;
  token_type: string;
  expires_in: number;
  scope: string;
}

/** The issuer's JWKS as the token Worker holds it (the same keys ENDPOINT.jwks publishes). */
export async function issuerKeys() {
  return createLocalJWKSet((await tokenService(env).jwks()) as Parameters<typeof createLocalJWKSet>[0]);
}

export async function verifyIdToken(token: string, clientId: string): Promise<JWTPayload> {
  const { payload, protectedHeader } = await jwtVerify(token, await issuerKeys(), {
    issuer: ISSUER,
    audience: clientId,
    algorithms: ["ES256"],
  });
  if (protectedHeader.typ !== "JWT") throw new Error(`id token typ ${protectedHeader.typ}`);
  return payload;
}
