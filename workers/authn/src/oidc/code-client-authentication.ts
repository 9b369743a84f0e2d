import { OIDC_GRANT_TYPE } from "../../../../shared/contracts/oidc.ts";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import type { BrowserGrantAnswer, BrowserGrantRequest } from "../../../../shared/contracts/oidc-grants.ts";
import { verifySecret } from "../../../../shared/crypto/secret-hash.ts";
import { strictBasicCredentials } from "../../../../shared/http/basic-credentials.ts";
import type { RedeemedCode } from "../../../../shared/oidc/redeemed-code-grant.ts";
import { decodeJwt } from "jose";
import { authnConfig } from "../config.ts";
import { clientIdRequired, invalidCode, liveCodeRefusal, type RegisteredClient } from "./live-code-checks.ts";
import { clientAssertionRefusal } from "./live-code-assertion.ts";
import type { PresentedProof } from "./live-code-dpop.ts";

/** How the request says its client is authenticated (RFC 6749 §2.3; RFC 7523 §2.2). */
type Presented =
  | { method: "client_secret_basic" | "client_secret_post"; clientId: string; secret: string }
  | { method: "private_key_jwt"; clientId: string | undefined }
  | { method: "none"; clientId: string | undefined }
  | { method: "malformed"; description: string }
  | { method: "ambiguous"; description: string };

/** RFC 6749 §2.3: client credentials Better Auth refuses when sent twice (RFC 6749 §3.2, RFC 7521 §4.2). */
const SINGLE_CREDENTIALS = ["client_id", "client_secret", "client_assertion", "client_assertion_type"] as const;

/**
 * RFC 6749 §3.2.1: a confidential client authenticates at the token
 * endpoint, and §4.1.3 the server ensures the code "was issued to the
 * authenticated confidential client". Better Auth does both only after it
 * has spent the code: it consumes the code's row first, and, finding the
 * code spent already, deletes every token issued on it (its §4.1.2 replay
 * rule) and the token Worker then cuts the grant's access tokens off. So a
 * wrong secret burned a live code, and anyone holding a spent one could end
 * its grant. Here, before Better Auth is handed a code grant:
 *
 * - a client registered with a secret (client_secret_basic, or _post if so
 *   registered) whose credentials are missing, wrong, of another method
 *   than registered, or whose client is unknown or disabled: `401
 *   invalid_client` (§5.2; the token Worker adds `WWW-Authenticate: Basic`),
 *   with nothing spent and nothing ended;
 * - a replay (`replayed`: the code's redemption left a row naming its
 *   client, shared/oidc/redeemed-code-grant.ts: a refresh token, the
 *   `redeemed_code_grant` row, or only an opaque access token, with or
 *   without an org) by any client but the one the code was issued to,
 *   authenticated (or, public, named): `400 invalid_grant` (§4.1.3),
 *   nothing ended. An unknown client's replay is `401 invalid_client`;
 * - a live code (its `verification` row, oidc/live-code-client.ts) sent by
 *   another client, authenticated or named: `400 invalid_grant` (§4.1.3);
 *   sent by its own client (authenticated by its secret, or public) with a
 *   `redirect_uri` other than the one it was issued for (§4.1.3) or a
 *   missing or wrong `code_verifier` (RFC 7636 §4.6): Better Auth's own
 *   answer (oidc/live-code-checks.ts), and so without a proof of the key a
 *   code requested with `dpop_jkt` is bound to (RFC 9449 §10,
 *   oidc/live-code-dpop.ts). Either way the code stays its own
 *   client's to redeem: handed over, Better Auth would spend it before it
 *   compared any of these, and the person's sign-in would fail;
 * - no client at all (no `client_id`, Authorization or assertion), the code
 *   live or spent: `400 invalid_request` "client_id is required", as Better
 *   Auth answers it before it reads the code (oidc/live-code-checks.ts), so
 *   the answer tells nothing of the code's state; nothing ended;
 * - credentials sent twice, or two methods in one request (§2.3 "MUST NOT
 *   use more than one authentication method in each request", §3.2): `400
 *   invalid_request` (§5.2), as Better Auth answers them.
 *
 * An empty `Authorization` header is no header, as Better Auth reads it.
 *
 * Public clients (`none`, RFC 6749 §2.1) cannot be authenticated (§10.2),
 * so whoever presents a public client's spent code with its `client_id`
 * still ends the grant, as before. That is the sound choice: §4.1.2 and
 * §10.5 ask the server to revoke what a code that is used twice yielded,
 * since the second use means the code leaked, and for a public client the
 * replay is the only signal there is (RFC 9700 §4.5: PKCE stops a stolen
 * code from being redeemed, not from being replayed once spent). The one
 * proof a public client could give, its `code_verifier`, cannot be checked
 * on a replay: Better Auth deletes the code's row, and with it the
 * `code_challenge`, at the first redemption.
 *
 * A `private_key_jwt` assertion (a Client ID Metadata Document client's
 * option) is Better Auth's to verify (the client's JWKS, its single-use
 * `jti`), and it does before it reads the code. But any client's assertion
 * verifies, and a metadata document client is anyone's to publish: a replay
 * whose assertion names (`sub`, else `iss`, as Better Auth reads it) another
 * client than the code's is `400 invalid_grant` here, nothing ended; one
 * naming the code's client is handed over, and Better Auth refuses it
 * unless it verifies (docs/authn.md). Asked `early` (the token Worker's
 * pre-check, before the code's turn), such an assertion is verified here
 * as Better Auth verifies it, its `jti` unspent, and refused in its words
 * (oidc/live-code-assertion.ts), so forged ones never wait in the turn.
 *
 * Undefined: hand the request over.
 */
export async function codeClientRefusal(
  env: AuthnEnv,
  request: BrowserGrantRequest,
  replayed: RedeemedCode | undefined,
  early = false,
): Promise<BrowserGrantAnswer | undefined> {
  const db = env.DB;
  const proof: PresentedProof = {
    proof: typeof request?.dpop === "string" ? request.dpop : undefined,
    tokenEndpoint: `${authnConfig(env).issuer}${ENDPOINT.token}`,
  };
  const form = new URLSearchParams(typeof request?.form === "string" ? request.form : "");
  if (form.get("grant_type") !== OIDC_GRANT_TYPE.authorizationCode) return undefined;
  // Better Auth reads an empty header as none (RFC 9110 §5.5 allows an empty field value).
  const authorization =
    typeof request?.authorization === "string" && request.authorization ? request.authorization : null;
  const presented = presentedCredentials(form, authorization);
  if (presented.method === "ambiguous") return invalidRequest(presented.description);
  if (presented.method === "malformed") return invalidClient(presented.description);
  if (presented.method === "private_key_jwt") {
    const refused = replayed
      ? presented.clientId !== replayed.clientId
        ? invalidCode()
        : undefined
      : // An assertion we cannot read names no client: Better Auth refuses it before it reads the code.
        await liveCodeRefusal(db, form, { clientId: presented.clientId }, proof);
    // Before the turn only: the assertion verified as Better Auth will verify it (it does so before it
    // reads the code, whatever the code's state), its jti left unspent; inside the turn Better Auth does.
    return refused ?? (early ? await clientAssertionRefusal(env, form) : undefined);
  }
  const client = presented.clientId ? await clientRow(db, presented.clientId) : undefined;
  if (client?.disabled) return invalidClient("client is disabled");
  if (presented.method === "none") {
    if (client && client.method !== "none") return invalidClient("client secret must be provided");
    // No client_id: Better Auth's own refusal, before it reads the code (live-code-checks.ts), whether
    // the code is live or spent, so the answer never tells a caller with no client which it is, nor
    // depends on whether a concurrent redemption ran first. A body Better Auth's schema refuses is
    // left to it while the code is live; a replay's is "missing client", below.
    if (presented.clientId === undefined) {
      const refusal = clientIdRequired(form);
      if (refusal || !replayed) return refusal;
    }
    if (!replayed) return liveCodeRefusal(db, form, { clientId: presented.clientId, ...registered(client) }, proof);
    if (!client) return invalidClient("missing client");
  } else {
    if (!client) return invalidClient("missing client");
    if (client.method !== presented.method) {
      return invalidClient(`client registered for ${client.method} cannot use ${presented.method}`);
    }
    if (!(await verifySecret(presented.secret, client.secretHash))) return invalidClient("invalid client_secret");
  }
  if (replayed) return replayed.clientId !== presented.clientId ? invalidCode() : undefined;
  return liveCodeRefusal(db, form, { clientId: presented.clientId, registered: client, withSecret: true }, proof);
}

/** A public client Better Auth will accept as named (an unknown one it refuses after spending the code). */
function registered(client: ClientRow | undefined): { registered?: RegisteredClient } {
  return client ? { registered: client } : {};
}

/**
 * The credentials as Better Auth reads them (RFC 6749 §2.3.1: Basic with
 * form-encoded id and secret, or `client_id` and `client_secret` in the
 * form; §2.3: one method per request, a malformed request, §5.2
 * `invalid_request`). A header we cannot read is refused here, never
 * guessed at.
 */
function presentedCredentials(form: URLSearchParams, authorization: string | null): Presented {
  const repeated = SINGLE_CREDENTIALS.find((name) => nonEmpty(form.getAll(name)).length > 1);
  if (repeated) return { method: "ambiguous", description: `${repeated} must not be repeated` };
  const secretInForm = nonEmpty(form.getAll("client_secret"));
  const assertion =
    nonEmpty(form.getAll("client_assertion")).length > 0 || nonEmpty(form.getAll("client_assertion_type")).length > 0;
  if ((authorization !== null && (secretInForm.length > 0 || assertion)) || (secretInForm.length > 0 && assertion)) {
    return { method: "ambiguous", description: "a request must use only one client authentication method" };
  }
  if (assertion) return { method: "private_key_jwt", clientId: assertedClient(form.get("client_assertion")) };
  const clientId = form.get("client_id") || undefined;
  if (authorization !== null) {
    const basic = basicCredentials(authorization);
    return basic
      ? { method: "client_secret_basic", ...basic }
      : { method: "malformed", description: "invalid client credentials" };
  }
  const secret = secretInForm[0];
  if (secret !== undefined && clientId !== undefined) return { method: "client_secret_post", clientId, secret };
  if (secret !== undefined) return { method: "malformed", description: "client_id is required" };
  return { method: "none", clientId };
}

/**
 * The client an assertion names, unverified, as Better Auth reads it before
 * it verifies (RFC 7523 §3: `sub`, whose `iss` must be the same). Undefined
 * for one it cannot read: a replay is then refused here, and a first
 * redemption left to Better Auth, which refuses it before the code.
 */
function assertedClient(assertion: string | null): string | undefined {
  if (!assertion) return undefined;
  try {
    const claims = decodeJwt(assertion);
    // decodeJwt checks no claim's type: a `sub` that is an object names no client (and would be bound to a query).
    const named = claims.sub ?? claims.iss;
    return typeof named === "string" ? named : undefined;
  } catch {
    return undefined;
  }
}

function nonEmpty(values: string[]): string[] {
  return values.filter((value) => value.length > 0);
}

/** Basic credentials with both parts: an id before the colon and a secret after it. */
function basicCredentials(authorization: string): { clientId: string; secret: string } | undefined {
  const basic = strictBasicCredentials(authorization);
  return basic?.clientId && basic.secret !== undefined ? { clientId: basic.clientId, secret: basic.secret } : undefined;
}

interface ClientRow extends RegisteredClient {
  secretHash: string | null;
  disabled: boolean;
}

async function clientRow(db: D1Database, clientId: string): Promise<ClientRow | undefined> {
  const row = await db
    .prepare(
      `SELECT client_secret, token_endpoint_auth_method, disabled, require_pkce, dpop_bound_access_tokens, metadata
         FROM oidc_client WHERE client_id = ?1`,
    )
    .bind(clientId)
    .first<{
      client_secret: string | null;
      token_endpoint_auth_method: string | null;
      disabled: number | null;
      require_pkce: number | null;
      dpop_bound_access_tokens: number | null;
      metadata: string | null;
    }>();
  if (!row) return undefined;
  // Better Auth's default for a client registered with no method (RFC 7591 §2).
  return {
    method: row.token_endpoint_auth_method ?? "client_secret_basic",
    secretHash: row.client_secret,
    disabled: row.disabled === 1,
    // Better Auth's `requirePKCE ?? true`.
    requirePKCE: row.require_pkce !== 0,
    requiresDpop: row.dpop_bound_access_tokens === 1 || metadataRequiresDpop(row.metadata),
  };
}

/**
 * RFC 9449 §5.2 `dpop_bound_access_tokens` in the client's metadata (a
 * metadata document client's), as Better Auth's
 * `clientRequiresDpopBoundAccessTokens` reads it. Metadata it could not
 * parse it fails on itself: not ours to guess at.
 */
function metadataRequiresDpop(metadata: string | null): boolean {
  if (!metadata) return false;
  try {
    const parsed: unknown = JSON.parse(metadata);
    return (parsed as { dpop_bound_access_tokens?: unknown } | null)?.dpop_bound_access_tokens === true;
  } catch {
    return false;
  }
}

/** RFC 6749 §5.2: a malformed request (a credential twice, two methods at once). */
function invalidRequest(description: string): BrowserGrantAnswer {
  return { status: 400, body: JSON.stringify({ error: "invalid_request", error_description: description }) };
}

function invalidClient(description: string): BrowserGrantAnswer {
  return { status: 401, body: JSON.stringify({ error: "invalid_client", error_description: description }) };
}
