import { decodeProtectedHeader, errors as joseErrors, importJWK, type JWK, jwtVerify } from "jose";
import { TRUSTED_HEADER } from "../contracts/headers.ts";
import { CLOCK_TOLERANCE_SECONDS, JWT_TYP, SIGNING_ALG } from "../contracts/tokens.ts";
import {
  filterHash,
  GATEWAY_ASSERTION_LIFETIME_SECONDS,
  type GatewayAssertionClaims,
  querySha256,
  REQUIRED_GATEWAY_ASSERTION_CLAIMS,
} from "./claims.ts";
import { COMPACT_JWS } from "../jwt/compact-jws.ts";
import { GatewayAssertionError } from "./errors.ts";

/**
 * The downstream's side of the gateway assertion: everything a service
 * behind the gateway needs to know that the trusted headers it received were
 * set by the gateway, for this request, for this service.
 *
 * - The JWS: `alg` pinned to ES256 and `typ` to JWT_TYP.gatewayAssertion
 *   before any key is looked up (RFC 8725 §3.1, §3.11), a key from the
 *   gateway's own JWKS (ENDPOINT.gatewayJwks; never the issuer's), `iss`,
 *   `aud` = this service, `exp`/`iat` with the shared clock tolerance, a
 *   lifetime no longer than GATEWAY_ASSERTION_LIFETIME_SECONDS; `org_id`
 *   = this service's org when it serves one (`orgId`: RFC 8725 §3.9, the
 *   audience must tell relying parties apart, and `aud` alone does not).
 * - The binding: X-User-ID, X-Org-ID and X-Actor-ID equal `sub`, `org_id`
 *   and `act.sub` (absent together); the SHA-256 of the exact X-ABAC-Filter
 *   value equals `abac_filter_sha256`; the method, path and query
 *   (`query_sha256`) are the request's, so an assertion captured for
 *   `?id=mine` proves nothing for `?id=yours`.
 *
 * An assertion is not single-use: within its minute it proves the same
 * request again, which is what a retry is.
 */
export interface GatewayAssertionVerifierOptions {
  /** The issuer the gateway serves (shared/config/issuer.ts normal form). */
  issuer: string;
  /** The gateway's public keys, as ENDPOINT.gatewayJwks serves them. */
  jwks: { keys: readonly JWK[] };
}

export interface VerifyOptions {
  /** This service's audience for the request's route. */
  audience: string;
  /**
   * The org this service serves, for a service of one org (a registered MCP
   * server): an assertion for any other org is ERR_ASSERTION_ORG. Two orgs
   * may register one MCP server name, and both servers' assertions carry
   * the same `aud` (`<issuer>/mcp/<name>`), so the audience alone lets an
   * org that registers the other's URL under that name (or replays what its
   * own upstream received) reach the other's server. Omit it only in a
   * service that serves every org and reads the org from X-Org-ID.
   */
  orgId?: string;
  /** For tests: the verifier's now. */
  currentDate?: Date;
}

/**
 * Usually a few hundred bytes, but it carries the forwarded path (up to the
 * gateway's 8 KiB MAX_PATH_LENGTH) and the token's subject and actor chain
 * (from an Authorization header of up to 8 KiB), base64url-encoded: about
 * 22 KiB at worst. A cap below that refused genuine assertions for long
 * paths as ERR_ASSERTION_MALFORMED; anything past this one is not one of
 * the gateway's.
 */
const MAX_ASSERTION_LENGTH = 32_768;

export class GatewayAssertionVerifier {
  private readonly keys = new Map<string, Promise<CryptoKey>>();

  constructor(private readonly options: GatewayAssertionVerifierOptions) {
    for (const jwk of options.jwks.keys) {
      if (jwk.kty !== "EC" || jwk.crv !== "P-256" || typeof jwk.kid !== "string" || jwk.d !== undefined) {
        throw new Error("gateway JWKS must hold public P-256 keys with a kid");
      }
      this.keys.set(jwk.kid, importJWK({ ...jwk, alg: SIGNING_ALG }, SIGNING_ALG) as Promise<CryptoKey>);
    }
  }

  /** The verified claims, or a GatewayAssertionError naming the first check that failed. */
  async verify(request: Request, url: URL, options: VerifyOptions): Promise<GatewayAssertionClaims> {
    const token = request.headers.get(TRUSTED_HEADER.gatewayAssertion);
    if (!token) throw new GatewayAssertionError("ERR_ASSERTION_MISSING");
    const claims = await this.verifyJws(token, options);
    if (options.orgId !== undefined && claims.org_id !== options.orgId) {
      throw new GatewayAssertionError("ERR_ASSERTION_ORG");
    }
    const headers = request.headers;
    const actor = headers.get(TRUSTED_HEADER.actorId);
    if (
      headers.get(TRUSTED_HEADER.userId) !== claims.sub ||
      headers.get(TRUSTED_HEADER.orgId) !== claims.org_id ||
      actor !== (claims.act?.sub ?? null)
    ) {
      throw new GatewayAssertionError("ERR_ASSERTION_HEADER_MISMATCH");
    }
    const filter = headers.get(TRUSTED_HEADER.abacFilter);
    if (filter === null || (await filterHash(filter)) !== claims.abac_filter_sha256) {
      throw new GatewayAssertionError("ERR_ASSERTION_FILTER_MISMATCH");
    }
    if (claims.method !== request.method || claims.path !== url.pathname) {
      throw new GatewayAssertionError("ERR_ASSERTION_REQUEST_MISMATCH");
    }
    const query = querySha256(url.search);
    if ((typeof query === "string" ? query : await query) !== claims.query_sha256) {
      throw new GatewayAssertionError("ERR_ASSERTION_REQUEST_MISMATCH", "query");
    }
    return claims;
  }

  private async verifyJws(token: string, options: VerifyOptions): Promise<GatewayAssertionClaims> {
    if (token.length > MAX_ASSERTION_LENGTH || !COMPACT_JWS.test(token)) {
      throw new GatewayAssertionError("ERR_ASSERTION_MALFORMED");
    }
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new GatewayAssertionError("ERR_ASSERTION_MALFORMED");
    }
    if (header.alg !== SIGNING_ALG) throw new GatewayAssertionError("ERR_ASSERTION_ALG", String(header.alg));
    if (header.typ !== JWT_TYP.gatewayAssertion) throw new GatewayAssertionError("ERR_ASSERTION_TYP");
    if (header.crit !== undefined) throw new GatewayAssertionError("ERR_ASSERTION_MALFORMED", "crit");
    const key = typeof header.kid === "string" ? this.keys.get(header.kid) : undefined;
    if (!key) throw new GatewayAssertionError("ERR_ASSERTION_KID_UNKNOWN");
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, await key, {
        algorithms: [SIGNING_ALG],
        typ: JWT_TYP.gatewayAssertion,
        issuer: this.options.issuer,
        audience: options.audience,
        requiredClaims: [...REQUIRED_GATEWAY_ASSERTION_CLAIMS],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: options.currentDate,
      }));
    } catch (error) {
      throw mapJoseError(error);
    }
    const claims = checkShapes(payload);
    const now = Math.floor((options.currentDate ?? new Date()).getTime() / 1000);
    if (claims.iat > now + CLOCK_TOLERANCE_SECONDS) throw new GatewayAssertionError("ERR_ASSERTION_NOT_YET_VALID");
    if (claims.exp - claims.iat > GATEWAY_ASSERTION_LIFETIME_SECONDS) {
      throw new GatewayAssertionError("ERR_ASSERTION_LIFETIME");
    }
    return claims;
  }
}

function mapJoseError(error: unknown): GatewayAssertionError {
  if (error instanceof joseErrors.JWTExpired) return new GatewayAssertionError("ERR_ASSERTION_EXPIRED");
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === "iss") return new GatewayAssertionError("ERR_ASSERTION_ISS");
    if (error.claim === "aud") return new GatewayAssertionError("ERR_ASSERTION_AUD");
    if (error.claim === "nbf") return new GatewayAssertionError("ERR_ASSERTION_NOT_YET_VALID");
    return new GatewayAssertionError("ERR_ASSERTION_CLAIM_INVALID", error.claim);
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
    return new GatewayAssertionError("ERR_ASSERTION_SIGNATURE");
  }
  return new GatewayAssertionError("ERR_ASSERTION_MALFORMED", error instanceof Error ? error.name : "unknown");
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

function checkShapes(payload: Record<string, unknown>): GatewayAssertionClaims {
  for (const claim of [
    "sub",
    "org_id",
    "client_id",
    "decision_id",
    "abac_filter_sha256",
    "method",
    "path",
    "query_sha256",
    "jti",
  ] as const) {
    if (!isNonEmptyString(payload[claim])) throw new GatewayAssertionError("ERR_ASSERTION_CLAIM_INVALID", claim);
  }
  if (typeof payload.aud !== "string") throw new GatewayAssertionError("ERR_ASSERTION_CLAIM_INVALID", "aud");
  const act = payload.act as { sub?: unknown } | undefined;
  if (act !== undefined && (typeof act !== "object" || act === null || !isNonEmptyString(act.sub))) {
    throw new GatewayAssertionError("ERR_ASSERTION_CLAIM_INVALID", "act");
  }
  return payload as unknown as GatewayAssertionClaims;
}
