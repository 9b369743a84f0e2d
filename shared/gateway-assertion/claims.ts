import { base64url } from "jose";
import type { ActorClaim } from "../contracts/tokens.ts";

/**
 * The gateway assertion: a short-lived JWT the gateway signs for every
 * request it lets through (header `typ` JWT_TYP.gatewayAssertion, in
 * TRUSTED_HEADER.gatewayAssertion), so a downstream can prove that the
 * trusted headers it received are the gateway's, for this request, and
 * meant for it (DESIGN, "Tokens").
 */
export interface GatewayAssertionClaims {
  /** The issuer: the gateway serves the issuer's origin. */
  iss: string;
  /** The upstream: the route's audience (workers/gateway/src/routing/route-table.ts). */
  aud: string;
  /** The subject, as in X-User-ID. */
  sub: string;
  /** The org, as in X-Org-ID. */
  org_id: string;
  /** RFC 8693 §4.1: who acts for the subject (X-Actor-ID is `act.sub`). */
  act?: ActorClaim;
  /** The client the access token was issued to. */
  client_id: string;
  /** The PDP decision that allowed the request; the same id is in the audit trail. */
  decision_id: string;
  /** base64url SHA-256 of the exact X-ABAC-Filter value sent with it (filterHash). */
  abac_filter_sha256: string;
  /**
   * The request it was made for: the method, and the path of the URL the
   * gateway sends it to — what the downstream sees as its own request's
   * path (for an https upstream, the upstream URL's path, not the public
   * one; the public resource is `aud`).
   */
  method: string;
  path: string;
  /**
   * The query the upstream receives, bound like the path so a captured
   * assertion cannot be replayed with another `?id=`: querySha256 of the
   * raw query of the URL the gateway sends the request to (percent-encoded
   * as sent, without the `?`). No query, or an empty one, is
   * EMPTY_QUERY_SHA256, the hash of no bytes, so every request carries it.
   */
  query_sha256: string;
  iat: number;
  exp: number;
  jti: string;
}

/** How long an assertion is valid: one request's worth, with room for clock skew. */
export const GATEWAY_ASSERTION_LIFETIME_SECONDS = 60;

/** The claims every assertion carries; a verifier refuses one without any of them. */
export const REQUIRED_GATEWAY_ASSERTION_CLAIMS = [
  "iss",
  "aud",
  "sub",
  "org_id",
  "client_id",
  "decision_id",
  "abac_filter_sha256",
  "method",
  "path",
  "query_sha256",
  "iat",
  "exp",
  "jti",
] as const;

/** base64url(SHA-256(UTF-8 bytes)) of a header value, as `abac_filter_sha256` carries it. */
export async function filterHash(value: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value));
  return base64url.encode(new Uint8Array(digest));
}

/** `query_sha256` for a URL without a query: base64url(SHA-256 of no bytes), so no hash is computed for one. */
export const EMPTY_QUERY_SHA256 = "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU";

/**
 * `query_sha256` of a URL's `search` (WHATWG URL: `""`, or `?` and the
 * query as the URL serialises it): base64url(SHA-256(UTF-8 bytes of the
 * query without the `?`)). The raw query, never a decoded or re-ordered one:
 * two queries a server could read differently never hash the same.
 */
export function querySha256(search: string): Promise<string> | string {
  return search.length <= 1 ? EMPTY_QUERY_SHA256 : filterHash(search.slice(1));
}
