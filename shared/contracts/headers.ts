/**
 * The gateway's promise to downstream services (DESIGN, "The gateway's
 * promise"): these request headers, and no others, are set by the gateway.
 */
export const TRUSTED_HEADER = {
  userId: "X-User-ID",
  orgId: "X-Org-ID",
  actorId: "X-Actor-ID",
  abacFilter: "X-ABAC-Filter",
  gatewayAssertion: "X-Gateway-Assertion",
} as const;

export type TrustedHeaderName = (typeof TRUSTED_HEADER)[keyof typeof TRUSTED_HEADER];

/**
 * The spelling-insensitive form of a header name: lower case, `_` as `-`.
 * Some proxies and frameworks treat `X_User_ID` as `X-User-ID` (CGI, nginx
 * with underscores_in_headers), so both must be stripped.
 */
export function canonicalHeaderName(name: string): string {
  return name.toLowerCase().replaceAll("_", "-");
}

export const TRUSTED_HEADER_CANONICAL: ReadonlySet<string> = new Set(
  Object.values(TRUSTED_HEADER).map(canonicalHeaderName),
);

/** RFC 9110 §7.6.1: connection-specific fields a proxy must not forward. */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);
