import {
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from "jose";
import { REPLAY_SCOPE } from "../../../../../shared/contracts/replay.ts";
import { CLIENT_ASSERTION_TYPE_JWT_BEARER, CLOCK_TOLERANCE_SECONDS } from "../../../../../shared/contracts/tokens.ts";
import { OAuthError } from "../../../../../shared/errors/oauth.ts";
import {
  CLIENT_ASSERTION_ALGS,
  ClientKeysError,
  clientKeyResolver,
  refreshedClientKeyResolver,
  verifyWithKeyReread,
} from "../client-keys.ts";
import { AUTHENTICATION_FAILED, authenticatedClient, findConfidentialClient } from "../confidential-client.ts";
import type { ClientAuthenticator, StoredClient } from "../types.ts";
import { COMPACT_JWS } from "../../../../../shared/jwt/compact-jws.ts";

/**
 * How far ahead an assertion's `exp` may be. RFC 7523 §3 item 4 only asks
 * for an `exp`; a short one bounds how long a leaked assertion is worth
 * anything and how long its `jti` must be remembered.
 */
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;
/** Longest assertion read; a signed JWT with our claims is well under 2 KiB. */
const MAX_ASSERTION_LENGTH = 8 * 1024;
/** Longest `jti` remembered (the ReplayGuard takes up to 512). */
const MAX_JTI_LENGTH = 256;

/**
 * `typ` values an assertion may carry: none (RFC 7523 defines none), `JWT`,
 * or draft-ietf-oauth-rfc7523bis's explicit `client-authentication+jwt`.
 * Any other type is a JWT of another kind (an access token, an ID-JAG) and
 * never passes as a client assertion (RFC 8725 §3.11).
 */
const ASSERTION_TYPS: ReadonlySet<string> = new Set(["jwt", "client-authentication+jwt"]);

function acceptableTyp(typ: unknown): boolean {
  if (typ === undefined) return true;
  if (typeof typ !== "string") return false;
  const t = typ.toLowerCase();
  return ASSERTION_TYPS.has(t.startsWith("application/") ? t.slice("application/".length) : t);
}

function refuse(description: string): never {
  // RFC 7523 §3.2: any invalid client assertion is `invalid_client`.
  throw new OAuthError("invalid_client", description);
}

/**
 * `private_key_jwt` (RFC 7523 §2.2, §3; OIDC Core §9): the client signs a
 * short-lived JWT about itself with a key it registered. Everything that
 * needs no key is checked first (type, algorithm, shape), then the client is
 * looked up and the signature, issuer, subject, audience and lifetime
 * verified, and only then is the `jti` spent, so nobody without the key can
 * burn a client's `jti`s.
 */
export const privateKeyJwt: ClientAuthenticator = {
  method: "private_key_jwt",
  async authenticate({ params }, context) {
    if (params.get("client_assertion_type") !== CLIENT_ASSERTION_TYPE_JWT_BEARER) {
      refuse(`client_assertion_type must be ${CLIENT_ASSERTION_TYPE_JWT_BEARER}`);
    }
    const assertion = params.get("client_assertion") ?? "";
    if (assertion.length > MAX_ASSERTION_LENGTH || !COMPACT_JWS.test(assertion)) {
      refuse("client_assertion is not a compact JWS");
    }
    let header: ReturnType<typeof decodeProtectedHeader>;
    let unverified: JWTPayload;
    try {
      header = decodeProtectedHeader(assertion);
      unverified = decodeJwt(assertion);
    } catch {
      refuse("client_assertion is not a compact JWS");
    }
    // RFC 8725 §3.1: the algorithm is pinned before any key is looked at.
    if (!(CLIENT_ASSERTION_ALGS as readonly unknown[]).includes(header.alg)) {
      refuse("client assertion algorithm not allowed");
    }
    if (!acceptableTyp(header.typ)) refuse("client assertion typ not accepted");
    // RFC 7515 §4.1.11: extensions we do not understand make the JWS invalid.
    if (header.crit !== undefined) refuse("client assertion crit not supported");
    // RFC 7523 §3 items 1-2 and OIDC Core §9: `iss` and `sub` are both the client_id.
    const clientId = unverified.sub;
    if (typeof clientId !== "string" || clientId === "" || unverified.iss !== clientId) {
      refuse("client assertion iss and sub must both be the client_id");
    }
    // RFC 7523 §3.1: a `client_id` sent beside the assertion must name the same client.
    const named = params.get("client_id");
    if (named !== undefined && named !== clientId) refuse("client_id does not match the client assertion");

    const client = await findConfidentialClient(clientId, "private_key_jwt", context);
    const payload = await verifySignedAssertion(assertion, client, context.config.issuer);
    const authenticated = authenticatedClient(client, "private_key_jwt");

    // RFC 7523 §3 item 7: the `jti` is accepted once per client, in strongly
    // consistent state (the ReplayGuard Durable Object), kept past `exp` by
    // the clock tolerance so an assertion the verifier still accepts is
    // still remembered. Spent through the request's spends, so a request
    // that then issues nothing through no fault of the client's (our 5xx,
    // its mint limit's 429) gives it back for the retry (replay/request-spends.ts).
    const jti = payload.jti as string;
    const expiresAt = (payload.exp as number) + CLOCK_TOLERANCE_SECONDS;
    const first = await context.spends.consume(REPLAY_SCOPE.clientAssertion(clientId), jti, expiresAt);
    if (!first) refuse("client assertion already used");
    return authenticated;
  },
};

/** Verifies signature and claims; on a `kid` the cached remote set lacks, re-reads it once. */
async function verifySignedAssertion(assertion: string, client: StoredClient, issuer: string): Promise<JWTPayload> {
  try {
    return await verifyWithKeyReread(
      await clientKeyResolver(client),
      () => refreshedClientKeyResolver(client),
      (keys) => verifyAssertionClaims(assertion, keys, client.clientId, issuer),
    );
  } catch (error) {
    if (error instanceof OAuthError) throw error;
    if (error instanceof ClientKeysError) {
      console.warn("client keys unavailable", client.clientId, error.message);
      refuse("the client's keys could not be read");
    }
    refuse(assertionErrorDescription(error));
  }
}

async function verifyAssertionClaims(
  assertion: string,
  keys: JWTVerifyGetKey,
  clientId: string,
  issuer: string,
): Promise<JWTPayload> {
  const { payload } = await jwtVerify(assertion, keys, {
    algorithms: [...CLIENT_ASSERTION_ALGS],
    issuer: clientId,
    subject: clientId,
    requiredClaims: ["exp", "iat", "jti"],
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
  });
  // RFC 7523 §3 item 3 allows the token endpoint URL as `aud` too; we
  // accept only the issuer identifier, and only as the sole audience, as
  // draft-ietf-oauth-rfc7523bis requires: an assertion made out to several
  // audiences, or to an endpoint URL another server could also claim, can
  // be replayed at a server it was not meant for (audience injection).
  const aud = Array.isArray(payload.aud) && payload.aud.length === 1 ? payload.aud[0] : payload.aud;
  if (aud !== issuer) refuse("client assertion aud must be the issuer");
  const now = Math.floor(Date.now() / 1000);
  const exp = payload.exp as number;
  const iat = payload.iat as number;
  if (exp > now + MAX_ASSERTION_LIFETIME_SECONDS + CLOCK_TOLERANCE_SECONDS) {
    refuse(`client assertion exp is more than ${MAX_ASSERTION_LIFETIME_SECONDS} seconds ahead`);
  }
  if (iat > now + CLOCK_TOLERANCE_SECONDS) refuse("client assertion iat is in the future");
  if (typeof payload.jti !== "string" || payload.jti === "" || payload.jti.length > MAX_JTI_LENGTH) {
    refuse("client assertion jti missing or too long");
  }
  return payload;
}

/** What the client is told about a failed verification: enough to fix its assertion. */
function assertionErrorDescription(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return "client assertion expired";
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `client assertion ${error.claim} invalid or missing`;
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return AUTHENTICATION_FAILED;
  if (error instanceof joseErrors.JWKSNoMatchingKey) return "client assertion signed by an unregistered key";
  if (error instanceof joseErrors.JWKSMultipleMatchingKeys)
    return "client assertion names no kid and several keys match";
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return "client assertion algorithm not allowed";
  return "client assertion invalid";
}
