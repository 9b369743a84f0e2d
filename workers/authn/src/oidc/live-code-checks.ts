import { SafeUrlSchema } from "@better-auth/core/utils/redirect-uri";
import { DANGEROUS_URL_SCHEMES } from "@better-auth/core/utils/url";
import { base64url } from "jose";
import type { BrowserGrantAnswer } from "../../../../shared/contracts/oidc-grants.ts";
import { PKCE_METHOD } from "../../../../shared/contracts/oidc.ts";
import { type LiveCode, liveCode } from "./live-code-client.ts";
import { dpopBindingRefusal, type PresentedProof } from "./live-code-dpop.ts";

/** A registered client, as Better Auth reads it to decide whether PKCE is required of it. */
export interface RegisteredClient {
  /** Its `token_endpoint_auth_method` (RFC 7591 §2); `none` is a public client. */
  method: string;
  requirePKCE: boolean;
  /** RFC 9449 §5.2 `dpop_bound_access_tokens`: its tokens must be DPoP-bound, so its requests need a proof. */
  requiresDpop?: boolean;
}

/** Who a code grant says it is from, as oidc/code-client-authentication.ts found them. */
export interface CodeRedeemer {
  /** The client authenticated, or (public, or an assertion not yet verified) named. */
  clientId: string | undefined;
  /**
   * Set when the client is registered and authenticated by its secret, or
   * registered as public (`none`): the code's redirect URI and PKCE
   * verifier are then checked here as well as its client. Unset for a
   * client Better Auth has yet to authenticate (a `private_key_jwt`
   * assertion: it verifies the assertion, and its single-use `jti`, before
   * it reads the code, so no one but the client's key holder reaches the
   * code) or one it will refuse (unknown).
   */
  registered?: RegisteredClient;
  /** The request carries a client secret (Better Auth's `isAuthCodeWithSecret`). */
  withSecret?: boolean;
}

/**
 * Better Auth's oauth-provider spends a code's `verification` row first,
 * then compares what the code was issued for, so any request that names the
 * code and fails one of those comparisons burns it, and the person's real
 * redemption then fails. For a public client nothing but its `client_id` is
 * needed to send one. Here the live code (oidc/live-code-client.ts) is
 * compared first, in Better Auth's order and with its own answers, so the
 * client's answer is unchanged but the code stays redeemable by the right
 * request:
 *
 * 1. issued to another client: `400 invalid_grant` "invalid code" (RFC 6749
 *    §4.1.3 "ensure that the authorization code was issued to the
 *    authenticated confidential client, or ... to the requesting public
 *    client");
 * 2. `redirect_uri` not identical to the authorization request's (§4.1.3
 *    "REQUIRED, if the redirect_uri parameter was included in the
 *    authorization request ... their values MUST be identical"): missing,
 *    `400 invalid_request` "redirect_uri is required"; another, or one sent
 *    when none was bound, `400 invalid_grant` "redirect_uri mismatch";
 * 3. a `resource` the code was not authorized for (RFC 8707 §2.2: the
 *    resources "MUST be ... a subset of those ... authorized"): `400
 *    invalid_target` "requested resource not authorized";
 * 4. PKCE (RFC 7636 §4.6): PKCE required of the client (always for a public
 *    one) and no `code_verifier`: `400 invalid_request` "PKCE is required
 *    for this client"; else a challenge stored and no verifier, a verifier
 *    and no challenge, or a verifier whose S256 digest is not the challenge:
 *    `401 invalid_request` with Better Auth's descriptions (the token Worker
 *    restates "code verification failed" as §4.6's `invalid_grant`);
 * 5. the DPoP binding (RFC 9449 §10): a code requested with `dpop_jkt` (or
 *    of a client registered with `dpop_bound_access_tokens`, §5.2) and no
 *    proof of that key, or a proof Better Auth would refuse: `400
 *    invalid_dpop_proof` (oidc/live-code-dpop.ts).
 *
 * Checks 2 to 5 are made for a confidential client too, after it is
 * authenticated (oidc/code-client-authentication.ts): there only the client
 * itself gets this far, and a refused request is no use of the code
 * (§4.1.2), so its retry with the right values is honoured, and a thief
 * holding the secret but not the verifier still gains nothing from a code
 * left live. Each code grant holds its code's turn (the token Worker's
 * grant-turns.ts), so no redemption spends the row between this read and
 * the hand-over.
 *
 * Refused here in Better Auth's words though it answers them without reading
 * the code (nothing spent), so that they never wait for the code's turn: a
 * public client's request with no `code_verifier` ("Either code_verifier or
 * client_secret is required"), and one naming no client at all
 * (`clientIdRequired`). Left to Better Auth: a `redirect_uri` or `resource`
 * its body schema refuses. It still spends the code before the
 * checks it makes between these and the DPoP binding (the client's
 * registered scopes and grant types, which only a change to the client
 * since the code was issued fails; the resources' policy), and a
 * `private_key_jwt` client's code is left to it whole (`CodeRedeemer.registered`); docs/authn.md.
 *
 * Undefined: hand the request over.
 */
export async function liveCodeRefusal(
  db: D1Database,
  form: URLSearchParams,
  redeemer: CodeRedeemer,
  proof: PresentedProof,
): Promise<BrowserGrantAnswer | undefined> {
  const code = form.get("code");
  if (!code || redeemer.clientId === undefined) return undefined;
  const live = await liveCode(db, code);
  if (!live) return undefined;
  if (live.clientId !== redeemer.clientId) return invalidCode();
  const { registered, withSecret = false } = redeemer;
  if (!registered) return undefined;
  // The token Worker drops an empty parameter (RFC 6749 §3.1); an RPC caller's form is read the same way.
  const verifier = form.get("code_verifier") || undefined;
  const redirectUri = form.get("redirect_uri") || undefined;
  const resources = form.getAll("resource").filter((resource) => resource.length > 0);
  if (redirectUri !== undefined && redirectUri !== live.redirectUri && !SafeUrlSchema.safeParse(redirectUri).success) {
    return undefined;
  }
  if (!resources.every(isResourceUri)) return undefined;
  // Neither PKCE nor a secret (RFC 6749 §4.1.3, RFC 7636 §4.5): Better Auth refuses it after its body
  // schema and before it reads the code; answered here in its words, so the request never waits for the
  // code's turn (the token Worker's early pre-check, forward-browser-grant.ts).
  if (!verifier && !withSecret) {
    return refusal(400, "invalid_request", "Either code_verifier or client_secret is required");
  }
  return (
    redirectUriRefusal(redirectUri, live) ??
    resourceRefusal(resources, live) ??
    (await pkceRefusal(verifier, live, registered)) ??
    (await dpopBindingRefusal(live.dpopJkt, proof, registered.requiresDpop === true))
  );
}

/**
 * A code grant naming no client (no `client_id`, no Authorization, no
 * assertion): RFC 6749 §4.1.3 requires a public client's `client_id` and
 * §3.2.1 a confidential client's authentication. Better Auth refuses it
 * "client_id is required" (400 invalid_request) after its body schema and
 * before it reads the code, whatever the code; the same answer here, so the
 * request never waits for the code's turn. A body its schema refuses is
 * left to it (its answer comes first).
 */
export function clientIdRequired(form: URLSearchParams): BrowserGrantAnswer | undefined {
  return schemaAccepts(form) ? refusal(400, "invalid_request", "client_id is required") : undefined;
}

/**
 * Whether Better Auth's token endpoint body schema accepts the form's
 * `redirect_uri` and `resource`s: one it refuses is its to answer, before
 * anything an early check would say of the client or the code.
 */
export function schemaAccepts(form: URLSearchParams): boolean {
  const redirectUri = form.get("redirect_uri") || undefined;
  if (redirectUri !== undefined && !SafeUrlSchema.safeParse(redirectUri).success) return false;
  return form.getAll("resource").every((resource) => resource.length === 0 || isResourceUri(resource));
}

/** RFC 6749 §4.1.3: the redirect URI the code was issued for, identical, as Better Auth compares it (exact string). */
function redirectUriRefusal(presented: string | undefined, live: LiveCode): BrowserGrantAnswer | undefined {
  if (live.redirectUri) {
    if (!presented) return refusal(400, "invalid_request", "redirect_uri is required");
    if (presented !== live.redirectUri) return refusal(400, "invalid_grant", "redirect_uri mismatch");
  } else if (presented) {
    return refusal(400, "invalid_grant", "redirect_uri mismatch");
  }
  return undefined;
}

/** RFC 8707 §2.2: only resources the code was authorized for, as Better Auth checks them when both are named. */
function resourceRefusal(requested: string[], live: LiveCode): BrowserGrantAnswer | undefined {
  const authorized = live.resources;
  if (requested.length === 0 || !authorized) return undefined;
  return requested.every((resource) => authorized.includes(resource))
    ? undefined
    : refusal(400, "invalid_target", "requested resource not authorized");
}

/**
 * A `resource` Better Auth's token endpoint schema accepts (RFC 8707 §2: an
 * absolute URI without a fragment, and none of the schemes it never
 * accepts); any other it refuses before it reads the code.
 */
function isResourceUri(resource: string): boolean {
  if (!URL.canParse(resource) || resource.includes("#")) return false;
  return !DANGEROUS_URL_SCHEMES.includes(new URL(resource).protocol);
}

/** RFC 7636 §4.5-4.6, as Better Auth checks the verifier against the stored challenge, in its order and words. */
async function pkceRefusal(
  verifier: string | undefined,
  live: LiveCode,
  client: RegisteredClient,
): Promise<BrowserGrantAnswer | undefined> {
  if (!verifier && pkceRequired(client, live)) {
    return refusal(400, "invalid_request", "PKCE is required for this client");
  }
  if (!live.codeChallenge && !verifier) return undefined;
  if (!verifier) {
    return refusal(401, "invalid_request", "code_verifier required because PKCE was used in authorization");
  }
  if (!live.codeChallenge) {
    return refusal(401, "invalid_request", "code_verifier provided but PKCE was not used in authorization");
  }
  // RFC 7636 §4.6: S256 only. `plain` is neither advertised nor accepted at
  // the authorization endpoint, and Better Auth matches no verifier to any
  // other method's challenge.
  if (live.codeChallengeMethod !== PKCE_METHOD || !(await s256Matches(verifier, live.codeChallenge))) {
    return refusal(401, "invalid_request", "code verification failed");
  }
  return undefined;
}

/**
 * Better Auth's `isPKCERequired`: always of a public client (RFC 9700
 * §2.1.1); of any client for `offline_access`, unless an OpenID request's
 * nonce stands in for it (§4.5.3.2); else as the client is registered (ours
 * all require it, shared/oidc/browser-clients.ts).
 */
function pkceRequired(client: RegisteredClient, live: LiveCode): boolean {
  if (client.method === "none") return true;
  const oidcNonce = live.scopes.includes("openid") && live.nonce !== undefined;
  if (live.scopes.includes("offline_access") && !oidcNonce) return true;
  return client.requirePKCE;
}

/**
 * RFC 7636 §4.6: BASE64URL-ENCODE(SHA256(ASCII(code_verifier))) == code_challenge,
 * compared in constant time (as secrets are, RFC 6749 §10.3) so the
 * comparison says nothing of how much of a guess was right.
 */
async function s256Matches(verifier: string, challenge: string): Promise<boolean> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const actual = new TextEncoder().encode(base64url.encode(digest));
  const expected = new TextEncoder().encode(challenge);
  if (actual.length !== expected.length) return false;
  let diff = 0;
  for (let i = 0; i < actual.length; i++) diff |= (actual[i] as number) ^ (expected[i] as number);
  return diff === 0;
}

/** RFC 6749 §4.1.3: the code was not issued to this client; Better Auth's own words for a spent code. */
export function invalidCode(): BrowserGrantAnswer {
  return refusal(400, "invalid_grant", "invalid code");
}

function refusal(status: number, error: string, description: string): BrowserGrantAnswer {
  return { status, body: JSON.stringify({ error, error_description: description }) };
}
