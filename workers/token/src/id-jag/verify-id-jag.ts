import {
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from "jose";
import { isHeaderSafeIdentifier } from "../../../../shared/contracts/headers.ts";
import { idJagReplayScope, replayGuardName } from "../../../../shared/contracts/replay.ts";
import {
  type ActorClaim,
  CLIENT_ID_PREFIX,
  CLOCK_TOLERANCE_SECONDS,
  ID_JAG_DERIVED_FROM_CLAIM,
  ID_JAG_GRANT_CLIENTS_CLAIM,
  ID_JAG_GRANTS_CLAIM,
  ID_JAG_NOT_AFTER_CLAIM,
  MAX_GRANT_CHAIN_LENGTH,
  type IdJagClaims,
  JWT_TYP,
  MAX_ID_JAG_LIFETIME_SECONDS,
  SIGNING_ALG,
} from "../../../../shared/contracts/tokens.ts";
import { OAuthError } from "../../../../shared/errors/oauth.ts";
import {
  CLIENT_ASSERTION_ALGS,
  ClientKeysError,
  refreshedRemoteKeyResolver,
  remoteKeyResolver,
  verifyWithKeyReread,
} from "../clients/client-keys.ts";
import type { GrantContext } from "../grants/types.ts";
import type { OrgClient } from "../grants/grant-client.ts";
import { databaseKeyResolver } from "../keys/database-key-resolver.ts";
import { findTrustedIssuer } from "./trusted-issuers.ts";
import { COMPACT_JWS } from "../../../../shared/jwt/compact-jws.ts";
import { isDerivedFrom } from "../../../../shared/revocation/derived-from.ts";
import { isGrantChainClients } from "../../../../shared/revocation/grant-chain-clients.ts";

/** An ID-JAG that passed every check but the single use of its `jti` (spendIdJag). */
export interface VerifiedIdJag {
  claims: IdJagClaims;
  /** Issued by this issuer (token exchange, id-jag/sign-id-jag.ts), not by an external IdP. */
  own: boolean;
  /**
   * An external issuer's: the org's trust it was verified under
   * (`trusted_issuer.id`). What is redeemed from it rests on that trust
   * (trustedIssuerGrantId), so removing the issuer ends it.
   */
  trustedIssuerId?: string;
}

/** Longest assertion read before parsing. */
const MAX_ASSERTION_LENGTH = 8 * 1024;
/** Longest `jti` or `sub` accepted (the ReplayGuard holds markers of at most 512 characters). */
const MAX_ID_LENGTH = 256;

/** RFC 6749 §5.2 / RFC 7521 §4.1.1: every problem with the assertion is `invalid_grant`. */
function refused(description: string): OAuthError {
  return new OAuthError("invalid_grant", `assertion: ${description}`);
}

/**
 * Verifies an ID-JAG presented with the jwt-bearer grant (RFC 7523 §3,
 * draft-ietf-oauth-identity-assertion-authz-grant §4.4.1) for `client`:
 *
 * - `typ` is `oauth-id-jag+jwt` (RFC 8725 §3.11), checked before any key;
 *   only asymmetric algorithms (ES256 for our own, the client-assertion set
 *   for external issuers), never `none` or a MAC.
 * - `iss` is our issuer, or an issuer the client's org trusts
 *   (`trusted_issuer`); its keys are ours (D1) or its `jwks_uri`'s (fetched
 *   with caps, clients/client-keys.ts).
 * - `aud` is our issuer, alone (a string, or an array of exactly one: the
 *   draft's defence against audience injection).
 * - `client_id` is the authenticated client (client continuity).
 * - A grant bound to a DPoP key (`cnf.jkt`) is redeemed only by a request
 *   that proved that key (§9.8.1.2: none, or another, is `invalid_grant`).
 * - `exp`, `iat`, `jti`, `sub` present; not expired, not issued in the
 *   future, and living at most MAX_ID_JAG_LIFETIME_SECONDS.
 * - An ID-JAG of ours names the client's org as `tenant`. An external one
 *   may not name a subject that reads as one of our client ids (RFC 9700
 *   §4.15: a client must never pass for a subject).
 *
 * Every refusal is `invalid_grant`. The `jti` is spent separately
 * (spendIdJag), after the grant's own checks.
 */
export async function verifyIdJag(assertion: string, client: OrgClient, context: GrantContext): Promise<VerifiedIdJag> {
  if (assertion.length > MAX_ASSERTION_LENGTH || !COMPACT_JWS.test(assertion)) throw refused("not a compact JWS");
  let issuer: unknown;
  let typ: unknown;
  try {
    typ = decodeProtectedHeader(assertion).typ;
    issuer = decodeJwt(assertion).iss;
  } catch {
    throw refused("not a JWT");
  }
  if (!isIdJagTyp(typ)) throw refused(`typ must be ${JWT_TYP.idJag}`);
  if (typeof issuer !== "string" || issuer === "") throw refused("no iss");

  const own = issuer === context.config.issuer;
  let payload: JWTPayload;
  let trustedIssuerId: string | undefined;
  try {
    if (own) payload = await verifyJwt(assertion, issuer, ownKeys(context.env.DB), [SIGNING_ALG], context);
    else ({ payload, trustedIssuerId } = await verifyExternal(assertion, issuer, client, context));
  } catch (error) {
    throw describe(error);
  }

  const claims = checkClaims(payload, own);
  if (claims.client_id !== client.clientId) throw refused("client_id is not the authenticated client");
  if (own && claims.tenant !== client.orgId) throw refused("issued for another org");
  if (!own && claims.sub.startsWith(CLIENT_ID_PREFIX)) throw refused("sub reads as a client id");
  if (claims.cnf && claims.cnf.jkt !== context.confirmation?.jkt) {
    throw refused("proof of possession of the grant's DPoP key required");
  }

  return { claims, own, ...(trustedIssuerId !== undefined ? { trustedIssuerId } : {}) };
}

/**
 * Spends the ID-JAG's `jti` in the ReplayGuard scope `id-jag:<shard>:<iss>`
 * (strongly consistent, never KV; the jti picks one of the issuer's
 * ID_JAG_REPLAY_SHARDS objects, always the same, idJagReplayScope): of any
 * number of concurrent redemptions exactly one passes, the rest are `invalid_grant`.
 * The grant calls it last, once every other check held, so a request
 * refused for anything else leaves the grant to its rightful holder.
 */
export async function spendIdJag(verified: VerifiedIdJag, context: GrantContext): Promise<void> {
  const { iss, jti, exp } = verified.claims;
  const guard = context.env.REPLAY_GUARD.getByName(replayGuardName(await idJagReplayScope(iss, jti)));
  if (!(await guard.consume(jti, exp + CLOCK_TOLERANCE_SECONDS))) throw refused("jti already used");
}

/** RFC 7515 §4.1.9: `typ` with or without the `application/` prefix, in any case. */
function isIdJagTyp(typ: unknown): boolean {
  if (typeof typ !== "string") return false;
  const t = typ.toLowerCase();
  return t === JWT_TYP.idJag || t === `application/${JWT_TYP.idJag}`;
}

function ownKeys(db: D1Database): JWTVerifyGetKey {
  const resolve = databaseKeyResolver(db);
  return async (header) => {
    const key = typeof header.kid === "string" ? await resolve(header.kid) : undefined;
    if (!key) throw new joseErrors.JWKSNoMatchingKey();
    return key;
  };
}

async function verifyExternal(
  assertion: string,
  issuer: string,
  client: OrgClient,
  context: GrantContext,
): Promise<{ payload: JWTPayload; trustedIssuerId: string }> {
  const trusted = await findTrustedIssuer(context.env.DB, client.orgId, issuer);
  if (!trusted) throw refused("issuer not trusted by this org");
  const algorithms = [...CLIENT_ASSERTION_ALGS];
  const { jwksUri } = trusted;
  // The issuer may have rotated: its set is read again once when it lacks the key.
  const payload = await verifyWithKeyReread(
    issuerKeys(await remoteKeyResolver(jwksUri), jwksUri),
    async () => {
      const fresh = await refreshedRemoteKeyResolver(jwksUri);
      return fresh && issuerKeys(fresh, jwksUri);
    },
    (keys) => verifyJwt(assertion, issuer, keys, algorithms, context),
  );
  return { payload, trustedIssuerId: trusted.id };
}

/** A key in a trusted issuer's JWKS that WebCrypto will not import (off its curve, the wrong size). */
class UnusableIssuerKey extends Error {
  override readonly name = "UnusableIssuerKey";
}

/**
 * An external issuer's key set. jose imports the key the assertion names
 * while resolving it; a key WebCrypto refuses (an off-curve EC point is an
 * OperationError, no JOSEError) is the third party's bad data, so the
 * assertion fails (RFC 7521 §4.1.1: invalid_grant) instead of our answering
 * 500. jose's own errors (no matching key: the reread) pass unchanged.
 */
function issuerKeys(keys: JWTVerifyGetKey, jwksUri: string): JWTVerifyGetKey {
  return async (header, token) => {
    try {
      return await keys(header, token);
    } catch (error) {
      if (error instanceof joseErrors.JOSEError) throw error;
      throw new UnusableIssuerKey(`${jwksUri}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
}

function verifyJwt(
  assertion: string,
  issuer: string,
  keys: JWTVerifyGetKey,
  algorithms: string[],
  context: GrantContext,
): Promise<JWTPayload> {
  return jwtVerify(assertion, keys, {
    algorithms,
    typ: JWT_TYP.idJag,
    issuer,
    audience: context.config.issuer,
    requiredClaims: ["iss", "sub", "aud", "exp", "iat", "jti", "client_id"],
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
  }).then((result) => result.payload);
}

/** What a client is told; anything not about the assertion is ours, a 500 with the cause in the log. */
function describe(error: unknown): OAuthError {
  if (error instanceof OAuthError) return error;
  if (error instanceof ClientKeysError) return refused("the issuer's keys are unavailable");
  if (error instanceof UnusableIssuerKey) {
    console.warn("id-jag: unusable key in a trusted issuer's JWKS", error.message);
    return refused("the issuer's keys are unusable");
  }
  if (error instanceof joseErrors.JWTExpired) return refused("expired");
  if (error instanceof joseErrors.JWKSNoMatchingKey) return refused("signed by a key the issuer does not publish");
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return refused("signature invalid");
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return refused("algorithm not allowed");
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === "aud") return refused("aud is not this issuer");
    if (error.reason === "missing") return refused(`no ${error.claim}`);
    return refused(`${error.claim} invalid`);
  }
  if (error instanceof joseErrors.JOSEError) return refused("not a valid JWT");
  throw error;
}

/** jose checks presence and time; the shapes the draft (§3.1) gives each claim are checked here. */
function checkClaims(payload: JWTPayload, own: boolean): IdJagClaims {
  const {
    sub,
    jti,
    client_id,
    iat,
    exp,
    aud,
    scope,
    resource,
    tenant,
    sid,
    act,
    cnf,
    [ID_JAG_NOT_AFTER_CLAIM]: notAfter,
    [ID_JAG_GRANTS_CLAIM]: grants,
    [ID_JAG_GRANT_CLIENTS_CLAIM]: grantClients,
    [ID_JAG_DERIVED_FROM_CLAIM]: derivedFrom,
  } = payload as Record<string, unknown>;
  // The grant's `sub` becomes the access token's, which the gateway hands on as X-User-ID: a value that is no
  // header value as it stands (RFC 9110 §5.5, shared/contracts/headers.ts) is refused here, not signed.
  if (!isId(sub) || !isHeaderSafeIdentifier(sub)) throw refused("sub invalid");
  if (!isId(jti)) throw refused("jti invalid");
  if (!isId(client_id)) throw refused("client_id invalid");
  if (typeof iat !== "number" || typeof exp !== "number") throw refused("iat or exp invalid");
  // The draft §4.4.1: a single issuer identifier, as a string or a one-element array.
  if (Array.isArray(aud) && aud.length !== 1) throw refused("aud names more than this issuer");
  const now = Math.floor(Date.now() / 1000);
  if (iat > now + CLOCK_TOLERANCE_SECONDS) throw refused("issued in the future");
  if (exp - iat > MAX_ID_JAG_LIFETIME_SECONDS) throw refused(`lives longer than ${MAX_ID_JAG_LIFETIME_SECONDS} s`);
  if (scope !== undefined && typeof scope !== "string") throw refused("scope invalid");
  if (resource !== undefined && !isResource(resource)) throw refused("resource invalid");
  if (tenant !== undefined && typeof tenant !== "string") throw refused("tenant invalid");
  // `sid` and `act` are read only from our own grants; an external issuer's
  // sessions and actors live in a namespace we cannot check.
  if (own && sid !== undefined && !isId(sid)) throw refused("sid invalid");
  if (own && act !== undefined && !isActor(act, 0)) throw refused("act invalid");
  // Our own limit on what the grant buys (grants/jwt-bearer.ts); a value we
  // could not read would silently lift it.
  if (own && notAfter !== undefined && !Number.isSafeInteger(notAfter)) throw refused("not-after invalid");
  // …nor a list of grants: one we could not read would escape its revocation.
  if (own && grants !== undefined && !isGrantList(grants)) throw refused("grants invalid");
  // …nor whose browser grants they are: one not lined up with them could let a client's cut-off miss the token.
  if (own && grantClients !== undefined && !isGrantChainClients(grantClients, grants)) {
    throw refused("grant-clients invalid");
  }
  // …nor the tokens it was derived from: one we could not read would escape that token's revocation.
  if (own && derivedFrom !== undefined && !isDerivedFrom(derivedFrom)) throw refused("derived-from invalid");
  // A confirmation we could not read would silently unbind the grant.
  if (cnf !== undefined && !isConfirmation(cnf)) throw refused("cnf invalid");
  return {
    iss: payload.iss as string,
    sub,
    aud: aud as string | string[],
    client_id,
    jti,
    iat,
    exp,
    ...(scope !== undefined ? { scope } : {}),
    ...(resource !== undefined ? { resource } : {}),
    ...(typeof tenant === "string" ? { tenant } : {}),
    ...(own && typeof sid === "string" ? { sid } : {}),
    ...(own && act !== undefined ? { act: act as ActorClaim } : {}),
    ...(cnf !== undefined ? { cnf: cnf as { jkt: string } } : {}),
    ...(own && typeof notAfter === "number" ? { [ID_JAG_NOT_AFTER_CLAIM]: notAfter } : {}),
    ...(own && grants !== undefined ? { [ID_JAG_GRANTS_CLAIM]: grants as string[] } : {}),
    ...(own && grantClients !== undefined
      ? { [ID_JAG_GRANT_CLIENTS_CLAIM]: grantClients as Record<string, string> }
      : {}),
    ...(own && isDerivedFrom(derivedFrom) ? { [ID_JAG_DERIVED_FROM_CLAIM]: derivedFrom } : {}),
  };
}

/** The exchange's own grant and the subject token's chain: at most one more than a token's `grant_chain`. */
function isGrantList(value: unknown): boolean {
  return Array.isArray(value) && value.length <= MAX_GRANT_CHAIN_LENGTH + 1 && value.every(isId);
}

/** RFC 7800 §3.1 as RFC 9449 §6.1 uses it: `{ "jkt": <RFC 7638 thumbprint> }`. */
function isConfirmation(value: unknown): boolean {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const members = value as Record<string, unknown>;
  return Object.keys(members).length === 1 && isId(members.jkt);
}

function isId(value: unknown): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= MAX_ID_LENGTH;
}

function isResource(value: unknown): value is string | string[] {
  return (
    typeof value === "string" || (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === "string"))
  );
}

/** RFC 8693 §4.1: an object with a `sub`, nesting for chains (bounded). */
function isActor(value: unknown, depth: number): boolean {
  if (depth > 8 || typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const act = value as Record<string, unknown>;
  return (
    isId(act.sub) &&
    // …and each actor's `sub` becomes X-Actor-ID.
    isHeaderSafeIdentifier(act.sub) &&
    (act.client_id === undefined || isId(act.client_id)) &&
    (act.act === undefined || isActor(act.act, depth + 1))
  );
}
