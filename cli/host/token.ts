import { importJWK, SignJWT } from "jose";
import { ACCESS_TOKEN_TYPE, CLIENT_ASSERTION_TYPE_JWT_BEARER, GRANT_TYPE } from "../../shared/contracts/tokens.ts";
import { type DpopRequest, DpopSession, generateDpopKey, importDpopKey, requiresDpop } from "../lib/dpop.ts";
import { CliError, refusalFrom } from "../lib/errors.ts";
import { send } from "../lib/http.ts";
import { type HostCredentials, readHostCredentials, saveHostDpopKey } from "./credentials.ts";

/** RFC 7523 §3: a client assertion lives a minute; the token endpoint spends its `jti` once. */
const ASSERTION_LIFETIME_SECONDS = 60;

export interface HostTokenRequest {
  /** RFC 6749 §3.3; absent: every scope the client holds. */
  scope?: string;
  /** RFC 8707 `resource`; absent: the issuer's default audience. */
  resource?: string;
  /** `--url`: must be the issuer the credentials are for, if given. */
  issuer?: string;
}

export interface HostToken {
  access_token: string;
  token_type: string;
  expires_in?: number;
  scope?: string;
  /** RFC 9449 §6.1: the thumbprint a DPoP-bound token's `cnf.jkt` names. */
  dpop_jkt?: string;
}

/** The assertion the host's client authenticates with (RFC 7523 §2.2, §3), signed by its registered key. */
async function clientAssertion(credentials: HostCredentials): Promise<string> {
  const alg = typeof credentials.private_jwk.alg === "string" ? credentials.private_jwk.alg : "ES256";
  const key = await importJWK(credentials.private_jwk, alg);
  const now = Math.floor(Date.now() / 1000);
  return (
    new SignJWT({ jti: crypto.randomUUID() })
      .setProtectedHeader({ alg, ...(credentials.private_jwk.kid ? { kid: credentials.private_jwk.kid } : {}) })
      .setIssuer(credentials.client_id)
      .setSubject(credentials.client_id)
      // RFC 7523 §3 point 3, as the token Worker checks it: the issuer is the audience.
      .setAudience(credentials.issuer)
      .setIssuedAt(now)
      .setExpirationTime(now + ASSERTION_LIFETIME_SECONDS)
      .sign(key)
  );
}

/**
 * The host's DPoP key: its own key pair, kept in the same 0600 file, not
 * the registered key that signs the client assertions. One key, one job
 * (NIST SP 800-57 Part 1 §5.2): the registered key is the client's identity
 * (its thumbprint is the `kid` an operator finds the client by), the DPoP
 * key only binds tokens (RFC 9449 §6.1 `cnf.jkt`), so it can be replaced,
 * by removing `dpop_private_jwk` from the file, without registering the host
 * again, and the tokens bound to the old one stop working with it.
 */
async function hostDpopSession(path: string, credentials: HostCredentials): Promise<DpopSession> {
  const stored = credentials.dpop_private_jwk ?? saveHostDpopKey(path, (await generateDpopKey()).privateJwk);
  return new DpopSession(await importDpopKey(stored));
}

/**
 * `client_credentials` (RFC 6749 §4.4) as the host's `private_key_jwt`
 * client, with a fresh assertion per request. A client bound at bootstrap
 * (RFC 9449 §5.2 `dpop_bound_access_tokens`) sends a proof with every
 * request and gets DPoP tokens; one that was not, and is refused
 * `invalid_dpop_proof` because an operator made it require DPoP since,
 * makes its key once, keeps it in the file and asks again with a proof.
 */
export async function hostToken(path: string, request: HostTokenRequest): Promise<HostToken> {
  const credentials = readHostCredentials(path);
  if (request.issuer !== undefined && request.issuer !== credentials.issuer) {
    throw new CliError(`${path} holds credentials for ${credentials.issuer}, not ${request.issuer}`);
  }
  let dpop =
    credentials.dpop_bound_access_tokens || credentials.dpop_private_jwk
      ? await hostDpopSession(path, credentials)
      : undefined;
  let response = await tokenRequest(credentials, request, dpop);
  if (!dpop && (await requiresDpop(response))) {
    await response.body?.cancel();
    dpop = await hostDpopSession(path, credentials);
    response = await tokenRequest(credentials, request, dpop);
  }
  if (!response.ok) throw await refusalFrom(response, "the host's token request");
  const body = (await response.json()) as Partial<HostToken>;
  if (typeof body.access_token !== "string" || typeof body.token_type !== "string") {
    throw new CliError("the token endpoint answered without an access_token");
  }
  // §5: the token_type says how the token must be sent (case-insensitive, RFC 6749 §5.1).
  const bound = body.token_type.toLowerCase() === ACCESS_TOKEN_TYPE.dpop.toLowerCase();
  if (dpop && !bound) throw new CliError("the token endpoint answered a DPoP token request with a bearer token");
  return {
    access_token: body.access_token,
    token_type: body.token_type,
    ...(typeof body.expires_in === "number" ? { expires_in: body.expires_in } : {}),
    ...(typeof body.scope === "string" ? { scope: body.scope } : {}),
    ...(dpop ? { dpop_jkt: dpop.key.jkt } : {}),
  };
}

function tokenRequest(
  credentials: HostCredentials,
  request: HostTokenRequest,
  dpop: DpopSession | undefined,
): Promise<Response> {
  const makeRequest = async (): Promise<DpopRequest> => ({
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
    body: new URLSearchParams({
      grant_type: GRANT_TYPE.clientCredentials,
      client_assertion_type: CLIENT_ASSERTION_TYPE_JWT_BEARER,
      client_assertion: await clientAssertion(credentials),
      ...(request.scope ? { scope: request.scope } : {}),
      ...(request.resource ? { resource: request.resource } : {}),
    }),
  });
  // A nonce retry (§8) gets a new assertion: the first one's jti is spent.
  if (dpop) return dpop.sendEach(credentials.token_endpoint, makeRequest);
  return makeRequest().then((made) => send(credentials.token_endpoint, made));
}
