/**
 * Header names the gateway's trust boundary is built from, spelled once.
 * Every list below holds the spelling-insensitive (canonical) form, so a
 * check is `SET.has(canonicalHeaderName(name))`.
 */

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
 * RFC 9110 §5.5: a field value has no control characters and no leading or
 * trailing whitespace. A token's `sub`, `org_id` and `act.sub` reach
 * downstream services unchanged as X-User-ID, X-Org-ID and X-Actor-ID, so
 * each must be one as it stands: the runtime refuses CR, LF and NUL in a
 * header (the gateway would answer 500 after the PDP allowed, with no audit
 * record) and trims edge whitespace, so a signed `sub` of " alice" would
 * reach a downstream as the different subject "alice". The gateway refuses
 * such a token (workers/gateway/src/trust/authenticate.ts); the token Worker
 * never signs one, refusing the foreign value it would come from.
 */
const NOT_A_FIELD_VALUE = /[\x00-\x1f\x7f]|^[ \t]|[ \t]$/;

/** Whether `value` can be a trusted header's value unchanged (RFC 9110 §5.5, above). */
export function isHeaderSafeIdentifier(value: string): boolean {
  return !NOT_A_FIELD_VALUE.test(value);
}

/**
 * The id the gateway gives every request (observability): set on what it
 * forwards to a Worker or a downstream and on its answer, and logged with
 * it by each Worker (shared/observability/log.ts). An inbound one is the
 * caller's to forge, so the gateway replaces it, in any spelling.
 */
export const REQUEST_ID_HEADER = "X-Request-ID";

/** RFC 9449 request and response header names. */
export const DPOP_HEADER = {
  /** §4.1: the proof, on token and resource requests. */
  proof: "DPoP",
  /** §8.1 / §9: a server-provided nonce. */
  nonce: "DPoP-Nonce",
} as const;

/**
 * The spelling-insensitive form of a header name: lower case, `_` as `-`.
 * Some proxies and frameworks treat `X_User_ID` as `X-User-ID` (CGI, nginx
 * with underscores_in_headers), so both must be stripped.
 */
export function canonicalHeaderName(name: string): string {
  return name.toLowerCase().replaceAll("_", "-");
}

const canonicalSet = (names: readonly string[]): ReadonlySet<string> => new Set(names.map(canonicalHeaderName));

export const TRUSTED_HEADER_CANONICAL: ReadonlySet<string> = canonicalSet(Object.values(TRUSTED_HEADER));

/** RFC 9110 §7.6.1: connection-specific fields a proxy must not forward. */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = canonicalSet([
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

/**
 * Request headers that carry a credential of the caller. None of them crosses
 * the gateway to a protected route's downstream: the downstream trusts the
 * gateway's headers instead, and a credential passed on would let any service
 * behind the gateway act as the caller (a session cookie is a valid
 * `subject_token` for the session exchange; a bearer token is token
 * passthrough). Public routes (login, the token endpoint) keep them: that is
 * where credentials are presented.
 */
export const CREDENTIAL_HEADERS: ReadonlySet<string> = canonicalSet([
  // RFC 9110 §11.6.2, §11.7.2
  "authorization",
  "proxy-authorization",
  // RFC 6265 §5.4, and the obsolete RFC 2965 §3.3.4
  "cookie",
  "cookie2",
  // RFC 9449 §4: a DPoP proof is bound to the caller's key
  "dpop",
  // Widespread ad-hoc API key and token headers
  "x-api-key",
  "api-key",
  "x-auth-token",
  "x-access-token",
  "x-id-token",
  "x-refresh-token",
  "x-session-token",
  "x-csrf-token",
  "x-xsrf-token",
  "token",
  "secret",
  "password",
  "apikey",
]);

/**
 * Credential headers by the shape of their name, for the many vendors the
 * list cannot name: Cloudflare Access (`CF-Access-Client-Id`,
 * `CF-Access-Client-Secret`, `Cf-Access-Jwt-Assertion`, `cf-access-token`;
 * its `Cf-Access-Authenticated-User-*` is no credential but Access's say of
 * who the caller is, an identity assertion: isIdentityAssertionHeader, which
 * the gateway applies first), AWS
 * (`X-Amz-Security-Token`), Google (`X-Goog-Api-Key`,
 * `X-Goog-Iap-Jwt-Assertion`), Azure API Management
 * (`Ocp-Apim-Subscription-Key`), GitLab (`Private-Token`), Vault
 * (`X-Vault-Token`), `X-Authorization`, `X-Auth-Key` / `X-Auth-Email`
 * (Cloudflare's API), OpenStack's `X-Auth-*`, oauth2-proxy's
 * `X-Auth-Request-*`, any `*Api-Key`. Matched on the canonical name.
 *
 * A name is a credential if the list holds it or a pattern matches it:
 * protected routes fail closed on a name that merely looks like one (an
 * API's own `X-Page-Token` goes too), since a credential passed on cannot
 * be taken back. Deliberately not matched: a bare `-key` (Idempotency-Key,
 * Sec-WebSocket-Key) and `session` (Mcp-Session-Id is the MCP transport's).
 */
export const CREDENTIAL_HEADER_PATTERN = {
  prefixes: ["cf-access-", "x-auth-"],
  suffixes: [
    "-authorization",
    "-token",
    "-secret",
    "-password",
    "-credential",
    "-credentials",
    "-jwt-assertion",
    "-jwt",
    "-apikey",
    "-subscription-key",
  ],
  infixes: ["api-key", "apikey"],
} as const;

/** Whether a canonical header name (canonicalHeaderName) carries a credential of the caller. */
export function isCredentialHeader(canonical: string): boolean {
  if (CREDENTIAL_HEADERS.has(canonical)) return true;
  const { prefixes, suffixes, infixes } = CREDENTIAL_HEADER_PATTERN;
  return (
    prefixes.some((p) => canonical.startsWith(p)) ||
    suffixes.some((s) => canonical.endsWith(s)) ||
    infixes.some((i) => canonical.includes(i))
  );
}

/**
 * Headers other front proxies use to tell an app who the caller is: web
 * servers' `Remote-User`, Authelia's and Authentik's `Remote-*`, Grafana's
 * `X-WEBAUTH-*`, Google IAP's `X-Goog-Authenticated-User-*`, AWS ALB's
 * `X-Amzn-Oidc-*`, Azure App Service's `X-MS-Client-Principal*` and
 * `X-MS-Token-*`, Cloudflare Access's `Cf-Access-Authenticated-User-Email`,
 * oauth2-proxy's `X-Auth-Request-User` / `-Email` / `-Groups` /
 * `-Preferred-Username`, and a TLS client certificate as nginx, HAProxy or
 * IIS ARR pass it on. The gateway's own say is TRUSTED_HEADER alone, but a
 * service written for another proxy may believe one of these: the caller's
 * copy never passes, on any route. Several share a prefix with credential
 * headers (`cf-access-`, `x-auth-`), which public routes keep; this list is
 * judged first, so an assertion is never kept as a credential would be.
 */
export const IDENTITY_ASSERTION_HEADERS: ReadonlySet<string> = canonicalSet([
  "x-user",
  "x-username",
  "x-user-name",
  "x-user-email",
  "x-user-groups",
  "x-email",
  "x-groups",
  "x-arr-clientcert",
  "x-client-cert",
  "x-client-certificate",
  "x-client-verify",
  "x-client-dn",
  "x-client-s-dn",
  "x-client-i-dn",
  // oauth2-proxy's identity (its X-Auth-Request-Access-Token is a credential, by suffix)
  "x-auth-request-user",
  "x-auth-request-email",
  "x-auth-request-groups",
  "x-auth-request-preferred-username",
]);

/** The same, by prefix: a whole family of names each proxy above writes. */
export const IDENTITY_ASSERTION_HEADER_PREFIXES: readonly string[] = [
  "remote-",
  "x-remote-",
  "x-webauth-",
  "x-authenticated-",
  "x-goog-authenticated-",
  "x-amzn-oidc-",
  "x-ms-client-principal",
  "x-ms-token-",
  "x-ssl-client-",
  "ssl-client-",
  "x-client-cert-",
  // Cloudflare Access: the user's email (and any later -User-* field) it read from its own JWT
  "cf-access-authenticated-",
];

/** Whether a canonical header name (canonicalHeaderName) asserts who the caller is, as another proxy would. */
export function isIdentityAssertionHeader(canonical: string): boolean {
  return (
    IDENTITY_ASSERTION_HEADERS.has(canonical) ||
    IDENTITY_ASSERTION_HEADER_PREFIXES.some((prefix) => canonical.startsWith(prefix))
  );
}

/**
 * Request headers some frameworks and proxies let override the method, the
 * path or the host that was routed on. The gateway decided on the method,
 * path and host it saw, so a downstream must not act on another one (a
 * host override also poisons absolute URLs a downstream builds: reset
 * links, redirects, `resource` identifiers).
 */
export const ROUTING_OVERRIDE_HEADERS: ReadonlySet<string> = canonicalSet([
  "x-http-method-override",
  "x-http-method",
  "x-method-override",
  "x-original-method",
  "x-original-url",
  "x-rewrite-url",
  "x-original-uri",
  "x-override-url",
  "x-host",
  "x-original-host",
  "x-host-override",
  "x-http-host-override",
]);

/**
 * `X-Original-*` is how proxies (IIS ARR, nginx auth_request set-ups,
 * Cloud Run) hand on what they rewrote; whatever follows, it is the
 * caller's claim about the request, not the request.
 */
export const ROUTING_OVERRIDE_HEADER_PREFIX = "x-original-";

/**
 * The forwarding headers the gateway writes itself (from the request URL and
 * `cf-connecting-ip`, which Cloudflare's edge sets); any inbound header of
 * these names, or starting with `x-forwarded-`, is the caller's to forge and
 * is dropped first.
 */
export const FORWARDING_HEADER = {
  /** RFC 7239 */
  forwarded: "Forwarded",
  forwardedFor: "X-Forwarded-For",
  forwardedProto: "X-Forwarded-Proto",
  forwardedHost: "X-Forwarded-Host",
  /** Set by Cloudflare's edge; the only client address the gateway believes. */
  connectingIp: "cf-connecting-ip",
} as const;

export const FORWARDING_HEADER_PREFIX = "x-forwarded-";

export const FORWARDING_HEADERS: ReadonlySet<string> = canonicalSet([
  ...Object.values(FORWARDING_HEADER),
  // The prefix's bare stem, which some frameworks read like Forwarded.
  "x-forwarded",
  "true-client-ip",
  "x-real-ip",
  "x-client-ip",
  "x-cluster-client-ip",
  "client-ip",
  "x-originating-ip",
]);

/**
 * The response headers a protected route's downstream may send back through
 * the one origin, which is the identity provider's: representation and
 * caching metadata only. Everything else (`Set-Cookie`, `Clear-Site-Data`,
 * CORS, `Refresh`, `Link`, `Service-Worker-Allowed`, HSTS, …) would let a
 * downstream act on the identity origin, so it is dropped. `Location` is
 * handled apart (same origin only).
 */
export const DOWNSTREAM_RESPONSE_HEADERS: ReadonlySet<string> = canonicalSet([
  "content-type",
  "content-length",
  "content-encoding",
  "content-language",
  "content-range",
  "content-disposition",
  "accept-ranges",
  "cache-control",
  "expires",
  "etag",
  "last-modified",
  "vary",
  "age",
  "date",
  "retry-after",
]);
