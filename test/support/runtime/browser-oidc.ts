// Drives the browser OpenID provider (the authn Worker's Better Auth
// oauth-provider) the way a person's browser and a relying party do, from
// inside the runtime: sign up, authorize, consent, redeem. The authn and
// token projects both use it, each reaching the two Workers its own way.
import { createLocalJWKSet, type JWTPayload, jwtVerify } from "jose";
import { ENDPOINT } from "../../../shared/contracts/endpoints.ts";
import { OIDC_ENDPOINT } from "../../../shared/contracts/oidc.ts";
import { type BrowserClientInput, registerBrowserClient } from "../../../shared/oidc/browser-clients.ts";
import { type ConsentForm, consentFormOf } from "../consent-form.ts";
import { clientAddress } from "../credential-limits.ts";

export const REDIRECT_URI = "https://rp.example.test/callback";
export const PASSWORD = "correct horse battery staple";

export interface OidcWorld {
  issuer: string;
  /** The API's audience (a registered RFC 8707 resource). */
  apiAudience: string;
  db: D1Database;
  /** Reaches the authn Worker (its pages and Better Auth's API). */
  authn: (request: Request) => Promise<Response>;
  /** Reaches the token endpoint a relying party uses. */
  tokenEndpoint: string;
  token: (request: Request) => Promise<Response>;
  /** The issuer's keys (TokenService.jwks). */
  jwks: () => Promise<{ keys: JsonWebKey[] }>;
}

export interface Client {
  clientId: string;
  clientSecret: string;
}

export interface TokenResponse {
  access_token: string;
  id_token?: string;
  refresh_token?: string;
  token_type: string;
  expires_in: number;
  scope: string;
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

export function oidcDriver(world: OidcWorld) {
  const origin = new URL(world.issuer).origin;

  /** A person signed up through the page: their cookie, ids and first (active) org. */
  async function signUp(name = "Test Person") {
    const email = `${crypto.randomUUID()}@example.com`;
    const response = await world.authn(
      new Request(`${origin}${ENDPOINT.signUp}`, {
        method: "POST",
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          Origin: origin,
          "cf-connecting-ip": clientAddress(),
        },
        body: new URLSearchParams({ name, email, password: PASSWORD }),
        redirect: "manual",
      }),
    );
    if (response.status !== 303) throw new Error(`sign-up failed: ${response.status} ${await response.text()}`);
    const cookie = response.headers
      .getSetCookie()
      .map((line) => line.split(";")[0])
      .join("; ");
    const row = await world.db
      .prepare(
        `SELECT u.id AS userId, s.id AS sessionId, s.active_organization_id AS orgId
           FROM user u JOIN session s ON s.user_id = u.id WHERE u.email = ?`,
      )
      .bind(email)
      .first<{ userId: string; sessionId: string; orgId: string }>();
    if (!row) throw new Error("no session after sign-up");
    return { email, cookie, ...row };
  }

  /** A browser client as the operator's admin API registers one (shared/oidc/browser-clients.ts). */
  async function browserClient(overrides: Partial<BrowserClientInput> = {}): Promise<Client> {
    const { client, clientSecret } = await registerBrowserClient(
      world.db,
      {
        name: "Example RP",
        redirectUris: [REDIRECT_URI],
        type: "confidential",
        scopes: ["openid", "profile", "email", "offline_access", "documents:read"],
        resources: [world.apiAudience],
        ...overrides,
      },
      world.issuer,
    );
    return { clientId: client.client_id, clientSecret: clientSecret ?? "" };
  }

  /** The standard request of these tests, with any parameter replaced or removed (undefined). */
  function codeRequest(clientId: string, challenge: string, overrides: Record<string, string | undefined> = {}) {
    const params: Record<string, string | undefined> = {
      response_type: "code",
      client_id: clientId,
      redirect_uri: REDIRECT_URI,
      scope: "openid profile email offline_access documents:read",
      state: crypto.randomUUID(),
      nonce: crypto.randomUUID(),
      code_challenge: challenge,
      code_challenge_method: "S256",
      resource: world.apiAudience,
      ...overrides,
    };
    return Object.fromEntries(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined));
  }

  /** GET the authorize endpoint as the person's browser would (their cookie, a navigation). */
  function authorize(params: Record<string, string>, cookie: string) {
    return world.authn(
      new Request(`${origin}${OIDC_ENDPOINT.authorize}?${new URLSearchParams(params)}`, {
        headers: { Cookie: cookie, Accept: "text/html", "Sec-Fetch-Mode": "navigate" },
        redirect: "manual",
      }),
    );
  }

  function showConsentPage(location: string, cookie: string) {
    return world.authn(new Request(new URL(location, origin), { headers: { Cookie: cookie }, redirect: "manual" }));
  }

  /** The consent page at `location` shown to the person: its form's fields, as their browser would post them. */
  async function consentForm(location: string, cookie: string): Promise<ConsentForm> {
    return consentFormOf(await showConsentPage(location, cookie));
  }

  /** POST /consent as the consent page's form does: the fields read from the page (consentForm), and the button. */
  function answerConsent(form: ConsentForm, accept: boolean, cookie: string, from = origin) {
    return world.authn(
      new Request(`${origin}${ENDPOINT.consent}`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: cookie, Origin: from },
        body: new URLSearchParams({ ...form, accept: String(accept) }),
        redirect: "manual",
      }),
    );
  }

  /**
   * authorize → consent page → allow: the redirect back to the client (code,
   * state, iss). A client the person already allowed for this org skips the page.
   */
  async function authorizeAndConsent(params: Record<string, string>, cookie: string): Promise<URL> {
    const first = await authorize(params, cookie);
    const location = first.headers.get("Location") ?? "";
    if (first.status === 302 && location.startsWith(params.redirect_uri ?? REDIRECT_URI)) return new URL(location);
    if (first.status !== 302 || !location.includes(`${ENDPOINT.consent}?`)) {
      throw new Error(`authorize did not ask for consent: ${first.status} ${location} ${await first.text()}`);
    }
    const consent = await answerConsent(await consentForm(location, cookie), true, cookie);
    if (consent.status !== 303) throw new Error(`consent failed: ${consent.status} ${await consent.text()}`);
    return new URL(consent.headers.get("Location") ?? "");
  }

  /** A token request at the relying party's token endpoint, with client_secret_basic when a client is given. */
  function tokenRequest(fields: Record<string, string>, client?: Client) {
    const headers: Record<string, string> = {
      "Content-Type": "application/x-www-form-urlencoded",
      "cf-connecting-ip": clientAddress(),
    };
    if (client) headers.Authorization = `Basic ${btoa(`${client.clientId}:${client.clientSecret}`)}`;
    return world.token(
      new Request(world.tokenEndpoint, { method: "POST", headers, body: new URLSearchParams(fields) }),
    );
  }

  /** Signs up, registers a client, authorizes with consent and redeems the code. */
  async function issuedTokens() {
    const person = await signUp();
    const client = await browserClient();
    const { verifier, challenge } = await pkce();
    const request = codeRequest(client.clientId, challenge);
    const back = await authorizeAndConsent(request, person.cookie);
    const response = await tokenRequest(
      {
        grant_type: "authorization_code",
        code: back.searchParams.get("code") ?? "",
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
        resource: world.apiAudience,
      },
      client,
    );
    if (response.status !== 200) throw new Error(`code redemption failed: ${response.status} ${await response.text()}`);
    return { person, client, request, tokens: (await response.json()) as TokenResponse };
  }

  async function verifyIdToken(token: string, clientId: string): Promise<JWTPayload> {
    const keys = createLocalJWKSet((await world.jwks()) as Parameters<typeof createLocalJWKSet>[0]);
    const { payload, protectedHeader } = await jwtVerify(token, keys, {
      issuer: world.issuer,
      audience: clientId,
      algorithms: ["ES256"],
    });
    if (protectedHeader.typ !== "JWT") throw new Error(`id token typ ${protectedHeader.typ}`);
    return payload;
  }

  return {
    origin,
    signUp,
    browserClient,
    codeRequest,
    authorize,
    showConsentPage,
    consentForm,
    answerConsent,
    authorizeAndConsent,
    tokenRequest,
    issuedTokens,
    verifyIdToken,
  };
}
