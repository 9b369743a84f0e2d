import {
  canonicalHeaderName,
  HOP_BY_HOP_HEADERS,
  TRUSTED_HEADER_CANONICAL,
} from "../../../../shared/contracts/headers.ts";

/**
 * Returns a copy of the inbound headers without anything a client could use
 * to impersonate the gateway (DESIGN, "The gateway's promise"):
 * - every trusted header name in any case or with `_` for `-`;
 * - every header the `Connection` header names, and the hop-by-hop headers
 *   themselves (RFC 9110 §7.6.1), since a proxy could otherwise be told to
 *   drop the gateway's own headers on the next hop;
 * - for protected routes, the `Authorization` header: the downstream trusts
 *   the gateway's headers, and passing a bearer token on is token
 *   passthrough. Public routes (login, token endpoint) keep it, since client
 *   authentication may use it.
 */
export function stripUntrustedHeaders(inbound: Headers, options: { keepAuthorization: boolean }): Headers {
  const named = new Set<string>();
  for (const token of (inbound.get("Connection") ?? "").split(",")) {
    const name = token.trim();
    if (name) named.add(canonicalHeaderName(name));
  }
  const out = new Headers();
  for (const [name, value] of inbound) {
    const canonical = canonicalHeaderName(name);
    if (
      TRUSTED_HEADER_CANONICAL.has(canonical) ||
      HOP_BY_HOP_HEADERS.has(canonical) ||
      named.has(canonical) ||
      (canonical === "authorization" && !options.keepAuthorization)
    ) {
      continue;
    }
    out.append(name, value);
  }
  return out;
}
