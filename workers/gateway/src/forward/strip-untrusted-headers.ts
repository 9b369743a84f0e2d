import {
  canonicalHeaderName,
  FORWARDING_HEADER_PREFIX,
  FORWARDING_HEADERS,
  HOP_BY_HOP_HEADERS,
  isCredentialHeader,
  isIdentityAssertionHeader,
  ROUTING_OVERRIDE_HEADER_PREFIX,
  ROUTING_OVERRIDE_HEADERS,
  TRUSTED_HEADER_CANONICAL,
} from "../../../../shared/contracts/headers.ts";
import { boundedMemo } from "../../../../shared/isolate/bounded-memo.ts";
import { REQUEST_ID_CANONICAL } from "../observability/request-id.ts";

export interface StripOptions {
  /**
   * Public routes (login, Better Auth's API, the token endpoint) keep the
   * caller's credentials: that is where they are presented. Protected routes
   * never pass them on (shared/contracts/headers.ts, isCredentialHeader).
   */
  keepCredentials: boolean;
}

/**
 * Returns a copy of the inbound headers without anything a client could use
 * to impersonate the gateway or to steer the downstream (DESIGN, "The
 * gateway's promise"). Every name is compared in its canonical form (any
 * case, `_` for `-`), so `X_User_ID` and `COOKIE` go like `X-User-ID` and
 * `Cookie`:
 * - the trusted headers and the request id, which only the gateway sets
 *   (observability/request-id.ts);
 * - every header the `Connection` header names, and the hop-by-hop headers
 *   themselves (RFC 9110 §7.6.1), since a proxy could otherwise be told to
 *   drop the gateway's own headers on the next hop;
 * - method, URL and host overrides: the gateway routed and authorised the
 *   method, path and host it saw;
 * - forwarding headers (`Forwarded`, `X-Forwarded-*`, `True-Client-IP`, …):
 *   the gateway writes its own (forwarding-headers.ts);
 * - identity other proxies assert (`Remote-User`, `X-WEBAUTH-USER`, a
 *   client certificate, …): only the trusted headers say who the caller is;
 * - unless kept, every credential-bearing header, by name or by the shape
 *   of its name (shared/contracts/headers.ts, isCredentialHeader).
 *
 * A deny-list, not an allow-list of end-to-end headers: services and MCP
 * servers behind the gateway rely on headers no list of ours would know
 * (Idempotency-Key, Prefer, vendor and tracing headers, new `Mcp-*`), and
 * an allow-list would drop them silently. What the promise protects — the
 * gateway's own headers and the caller's credentials — is judged by name
 * and name shape, failing closed on anything that looks like a credential.
 */
export function stripUntrustedHeaders(inbound: Headers, options: StripOptions): Headers {
  const connection = inbound.get("Connection");
  const named = new Set<string>();
  for (const token of connection === null ? [] : connection.split(",")) {
    const name = token.trim();
    if (name) named.add(canonicalHeaderName(name));
  }
  const out = new Headers();
  for (const [name, value] of inbound) {
    const verdict = verdictOf(name);
    if (verdict === DROP || (verdict === CREDENTIAL && !options.keepCredentials)) continue;
    if (named.size > 0 && named.has(canonicalHeaderName(name))) continue;
    out.append(name, value);
  }
  return out;
}

const KEEP = 0;
const DROP = 1;
const CREDENTIAL = 2;
type Verdict = typeof KEEP | typeof DROP | typeof CREDENTIAL;

/** A name's verdict depends on the name alone, and a gateway sees the same few dozen names on every request. */
const verdictOf = boundedMemo(512, (name): Verdict => judge(canonicalHeaderName(name)));

function judge(canonical: string): Verdict {
  if (
    TRUSTED_HEADER_CANONICAL.has(canonical) ||
    canonical === REQUEST_ID_CANONICAL ||
    HOP_BY_HOP_HEADERS.has(canonical) ||
    ROUTING_OVERRIDE_HEADERS.has(canonical) ||
    canonical.startsWith(ROUTING_OVERRIDE_HEADER_PREFIX) ||
    FORWARDING_HEADERS.has(canonical) ||
    canonical.startsWith(FORWARDING_HEADER_PREFIX) ||
    isIdentityAssertionHeader(canonical)
  ) {
    return DROP;
  }
  return isCredentialHeader(canonical) ? CREDENTIAL : KEEP;
}
