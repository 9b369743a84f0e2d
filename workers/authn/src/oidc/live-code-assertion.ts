import { CLIENT_ASSERTION_TYPE, PRIVATE_KEY_JWT_SIGNING_ALGORITHMS } from "@better-auth/core/oauth2";
import { getIssuer, type OAuthOptions, type Scope } from "@better-auth/oauth-provider";
import type { GenericEndpointContext } from "better-auth";
import {
  base64url,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  type JSONWebKeySet,
  type JWTPayload,
  jwtVerify,
} from "jose";
import type { BrowserGrantAnswer } from "../../../../shared/contracts/oidc-grants.ts";
import { getAuth } from "../auth/create-auth.ts";
import { CIMD_DISCOVERY_ID } from "../mcp-clients/client-discovery.ts";
import { isMetadataDocumentClientId } from "../mcp-clients/client-id-url.ts";
import { CimdError, cimdRefusalBody } from "../mcp-clients/errors.ts";
import { resolveClientMetadataDocument } from "../mcp-clients/metadata-document.ts";
import { metadataOutbound } from "../mcp-clients/outbound.ts";
import { schemaAccepts } from "./live-code-checks.ts";

/** Better Auth's `assertionMaxLifetime` default (seconds), used when the provider is configured with none. */
const DEFAULT_MAX_LIFETIME = 300;
/** Better Auth's jti tombstone namespace for the built-in method (its `verifyClientAssertion`). */
const NAMESPACE = "private_key_jwt";

interface AssertingClientRow {
  client_discovery_id: string | null;
  disabled: number | null;
  token_endpoint_auth_method: string | null;
  jwks: string | null;
  jwks_uri: string | null;
}

/**
 * RFC 7523 §3 (and §2.2, RFC 7521 §4.2): a code grant's `private_key_jwt`
 * client assertion, verified as Better Auth's oauth-provider verifies it
 * (its `verifyClientAssertion`) and answered in its words, for the token
 * Worker's early pre-check only (`OidcGrants.precheck`). Better Auth
 * verifies the assertion, and spends its `jti`, before it reads the code,
 * but only inside the code's turn, which holds MAX_TURN_WAITERS requests:
 * without this, anyone holding an intercepted live code could fill it with
 * assertions that merely name the code's client and fail the person's own
 * redemption with "grant is being used by another request".
 *
 * Its only export, `verifyClientAssertion`, spends the `jti` as it verifies,
 * so it is not reused here: the same steps, in its order, with jose and
 * its own algorithm list, accepted audiences, key source and lifetime.
 * Reads only: the `jti`'s tombstone is looked up, never written (Better
 * Auth spends it once, inside the turn). A metadata document client's keys
 * come from the document through the same resolver and isolate cache
 * Better Auth's client discovery uses (mcp-clients/); a document that no
 * longer matches the stored client (keys rotated, say) is Better Auth's to
 * register again and verify against, so the request is handed over, as it
 * is whenever the keys would be fetched from a `jwks_uri` (Better Auth's
 * own fetch and cache) or anything else is not as Better Auth reads it.
 *
 * Undefined: the assertion verifies as Better Auth would verify it, or is
 * left to Better Auth.
 */
export async function clientAssertionRefusal(
  env: AuthnEnv,
  form: URLSearchParams,
): Promise<BrowserGrantAnswer | undefined> {
  // Better Auth's body schema answers first.
  if (!schemaAccepts(form)) return undefined;
  const assertion = firstValue(form, "client_assertion");
  const assertionType = firstValue(form, "client_assertion_type");
  if (!assertion || !assertionType) {
    return refusal(400, "client_assertion and client_assertion_type must both be provided");
  }
  // RFC 7523 §2.2: this assertion type only. Better Auth first looks for an extension's strategy for
  // another type; none is configured (plugins/oauth-provider.ts), so it refuses the type as here, which
  // test/authn/oidc-code-assertion-precheck.test.ts pins: a strategy added later fails that test first.
  if (assertionType !== CLIENT_ASSERTION_TYPE) return refusal(400, "unsupported client_assertion_type");
  let alg: string | undefined;
  try {
    alg = decodeProtectedHeader(assertion).alg;
  } catch {
    return refusal(400, "malformed client assertion: invalid JWT header");
  }
  if (!alg || !ALGORITHMS.includes(alg)) return refusal(400, `unsupported assertion signing algorithm: ${alg}`);
  let unverified: JWTPayload;
  try {
    unverified = decodeJwt(assertion);
  } catch {
    return refusal(400, "malformed client assertion: invalid JWT payload");
  }
  const clientId = unverified.sub ?? unverified.iss;
  // RFC 7519 §4.1.1–2: both are StringOrURI. decodeJwt does not check their type, and Better Auth binds
  // whatever it finds to its client query (a 500 for an object): a client's mistake, so its refusal for none.
  if (!clientId || typeof clientId !== "string") {
    return refusal(400, "client assertion must contain sub or iss claim identifying the client");
  }
  const hint = firstValue(form, "client_id");
  if (hint && hint !== clientId) return refusal(400, "client_id in body does not match assertion sub/iss");

  const client = await clientKeys(env, clientId);
  if (!client || "handOver" in client) return undefined;
  if ("refused" in client) return client.refused;
  const provider = await providerSettings(env);
  if (!provider) return undefined;
  let payload: JWTPayload;
  try {
    // RFC 7523 §3: iss and sub the client, aud the token endpoint or the issuer, signed by one of its keys.
    ({ payload } = await jwtVerify(assertion, createLocalJWKSet(client.jwks), {
      issuer: clientId,
      subject: clientId,
      audience: provider.audiences,
      algorithms: ALGORITHMS,
    }));
  } catch (error) {
    // No key of that kid: Better Auth fetches a managed client's jwks_uri again (key rotation). Its to do.
    if (client.refetchable && error instanceof Error && /no matching key|no applicable key/i.test(error.message)) {
      return undefined;
    }
    return refusal(401, "client assertion signature verification failed");
  }
  return claimsRefusal(env.DB, payload, clientId, provider.maxLifetime);
}

const ALGORITHMS: string[] = [...PRIVATE_KEY_JWT_SIGNING_ALGORITHMS];

type ClientKeys =
  | { jwks: JSONWebKeySet; refetchable: boolean }
  | { refused: BrowserGrantAnswer }
  | { handOver: true }
  | undefined;

/**
 * The client's keys as Better Auth's `getClient` and `fetchClientJwks` find
 * them: its stored registration, or (a metadata document client) the
 * document as resolved now. Refusals in its order: the document not
 * resolved, disabled, another method, no keys.
 */
async function clientKeys(env: AuthnEnv, clientId: string): Promise<ClientKeys> {
  const row = await env.DB.prepare(
    `SELECT client_discovery_id, disabled, token_endpoint_auth_method, jwks, jwks_uri
       FROM oidc_client WHERE client_id = ?1`,
  )
    .bind(clientId)
    .first<AssertingClientRow>();
  // An unknown client: Better Auth's discovery may register it now, a write that is not ours to make.
  if (!row) return undefined;
  const discovered = row.client_discovery_id !== null;
  if (discovered) {
    if (row.client_discovery_id !== CIMD_DISCOVERY_ID || !isMetadataDocumentClientId(clientId)) return undefined;
    const current = await currentDocument(env, clientId, row);
    if (current !== "matches") return current;
  }
  if (row.disabled === 1) return { refused: refusal(400, "client is disabled") };
  if (row.token_endpoint_auth_method !== "private_key_jwt") {
    return { refused: refusal(400, "client is not registered for private_key_jwt authentication") };
  }
  if (!row.jwks) {
    return row.jwks_uri ? { handOver: true } : { refused: refusal(400, "client has no JWKS configured") };
  }
  let jwks: JSONWebKeySet;
  try {
    jwks = JSON.parse(row.jwks) as JSONWebKeySet;
  } catch {
    return { handOver: true };
  }
  // A document client's jwks_uri is never fetched (client-discovery.ts): Better Auth's second try finds nothing.
  return { jwks, refetchable: !discovered && row.jwks_uri !== null };
}

/**
 * The client's metadata document through the resolver Better Auth's client
 * discovery calls (its isolate cache, its bounds, its transport): its
 * refusal in the discovery's words (`invalid_client`, the stable code);
 * "matches" when the stored client is what the document says (method and
 * keys), else handed over for Better Auth to register it again first.
 */
async function currentDocument(
  env: AuthnEnv,
  clientId: string,
  row: AssertingClientRow,
): Promise<"matches" | { refused: BrowserGrantAnswer } | { handOver: true }> {
  try {
    const { metadata } = await resolveClientMetadataDocument(clientId, { transport: metadataOutbound(env) });
    const method = metadata.token_endpoint_auth_method ?? "none";
    const jwks = metadata.jwks === undefined ? null : JSON.stringify(metadata.jwks);
    const jwksUri = metadata.jwks_uri ?? null;
    const same = method === row.token_endpoint_auth_method && jwks === row.jwks && jwksUri === row.jwks_uri;
    return same ? "matches" : { handOver: true };
  } catch (error) {
    if (error instanceof CimdError) return { refused: answer(400, cimdRefusalBody(error)) };
    // Anything else is not a client's mistake to be told of here: Better Auth meets it itself.
    console.error("metadata document not resolved for the early assertion check", error);
    return { handOver: true };
  }
}

/**
 * What the provider accepts: `aud` its token endpoint (at its base URL) or
 * its issuer (RFC 7523 §3 rule 3), and its assertion lifetime.
 */
async function providerSettings(env: AuthnEnv): Promise<{ audiences: string[]; maxLifetime: number } | undefined> {
  const context = await getAuth(env).$context;
  const options = (context.getPlugin("oauth-provider") as { options?: OAuthOptions<Scope[]> } | null)?.options;
  if (!options) return undefined;
  const issuer = getIssuer({ context } as unknown as GenericEndpointContext, options);
  return {
    audiences: [...new Set([`${context.baseURL}/oauth2/token`, issuer])],
    maxLifetime: options.assertionMaxLifetime ?? DEFAULT_MAX_LIFETIME,
  };
}

/**
 * RFC 7523 §3 rules 4 and 7, as Better Auth's `consumeClientAssertion`
 * checks them after the signature: `exp` required and near, `iat` not too
 * old, a `jti`, and one not used before. The tombstone is only looked up:
 * Better Auth writes it when it verifies the same assertion in the turn.
 */
async function claimsRefusal(
  db: D1Database,
  payload: JWTPayload,
  clientId: string,
  maxLifetime: number,
): Promise<BrowserGrantAnswer | undefined> {
  const now = Math.floor(Date.now() / 1000);
  if (typeof payload.exp !== "number") return refusal(400, "client assertion must include exp claim");
  if (payload.exp <= now) return refusal(400, "client assertion has expired");
  if (payload.exp - now > maxLifetime) {
    return refusal(400, `client assertion exp is too far in the future (max ${maxLifetime}s)`);
  }
  if (typeof payload.iat === "number" && now - payload.iat > maxLifetime) {
    return refusal(400, `client assertion iat is too far in the past (max ${maxLifetime}s)`);
  }
  if (typeof payload.jti !== "string" || payload.jti.length === 0) {
    return refusal(400, "client assertion must include jti claim");
  }
  const used = await db
    .prepare("SELECT 1 AS used FROM oidc_client_assertion WHERE id = ?1")
    .bind(await tombstoneId(`${NAMESPACE}:${clientId}`, payload.jti))
    .first<{ used: number }>();
  return used ? refusal(400, "client assertion jti has already been used") : undefined;
}

/** Better Auth's tombstone key: the first 24 bytes of SHA-256(`namespace:jti`), base64url without padding. */
async function tombstoneId(namespace: string, jti: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${namespace}:${jti}`));
  return base64url.encode(new Uint8Array(digest).slice(0, 24));
}

/** A credential as Better Auth reads it: the first non-empty value (a repeated one is refused before this). */
function firstValue(form: URLSearchParams, name: string): string | undefined {
  return form.getAll(name).find((value) => value.length > 0);
}

/** RFC 6749 §5.2 `invalid_client`, with Better Auth's status and description. */
function refusal(status: 400 | 401, description: string): BrowserGrantAnswer {
  return answer(status, { error: "invalid_client", error_description: description });
}

function answer(status: number, body: { error: string; error_description: string }): BrowserGrantAnswer {
  return { status, body: JSON.stringify(body) };
}
