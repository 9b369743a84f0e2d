import { FORWARDING_HEADER } from "../../../../shared/contracts/headers.ts";
import { ipv6Prefix64 } from "../../../../shared/rate-limit/client-address.ts";

/** RFC 9110 §7.6.3: the `received-by` the gateway names itself by in `Via` (a pseudonym, not a host). */
export const VIA_PSEUDONYM = "mono-auth-gateway";

/**
 * Writes the forwarding headers from what the gateway itself knows, onto
 * headers already stripped of the caller's versions (strip-untrusted-headers.ts):
 * the client's address from `cf-connecting-ip` only (Cloudflare's edge sets
 * it; anything else in the request is the caller's to write), and the scheme
 * and host of the URL the gateway was asked for (`url`: the request's, parsed
 * once by the caller). A downstream that logs or
 * limits by address therefore sees one consistent, unforgeable value. And
 * `Via`, which the caller's own proxies may have begun, gets the gateway's entry.
 */
export function setForwardingHeaders(out: Headers, request: Request, url: URL = new URL(request.url)): void {
  const proto = url.protocol.slice(0, -1);
  const address = clientAddress(request.headers);
  if (address) {
    out.set(FORWARDING_HEADER.connectingIp, address);
    out.set(FORWARDING_HEADER.forwardedFor, address);
  }
  out.set(FORWARDING_HEADER.forwardedProto, proto);
  out.set(FORWARDING_HEADER.forwardedHost, url.host);
  // RFC 7239 §4: an IPv6 node and a host with a port are quoted strings;
  // an address the gateway does not know is `unknown` (§6.3).
  const node = address === undefined ? "unknown" : address.includes(":") ? `"[${address}]"` : address;
  out.set(FORWARDING_HEADER.forwarded, `for=${node};host="${url.host}";proto=${proto}`);
  // RFC 9110 §7.6.3: an HTTP-to-HTTP gateway MUST send Via in each request it forwards, appended to
  // any the request came with, naming the protocol version it received the request in.
  out.append("Via", `${receivedProtocol(request)} ${VIA_PSEUDONYM}`);
}

/** The version of HTTP the edge received the request in (`cf.httpProtocol`: "HTTP/2", …), as Via writes it. */
function receivedProtocol(request: Request): string {
  const version = /^HTTP\/(\d(?:\.\d)?)$/.exec(String(request.cf?.httpProtocol ?? ""))?.[1];
  return version ?? "1.1";
}

/** The edge's client address, if it is one: a single IPv4 or IPv6 literal. */
function clientAddress(headers: Headers): string | undefined {
  const raw = headers.get(FORWARDING_HEADER.connectingIp)?.trim();
  if (!raw) return undefined;
  if (/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/.test(raw)) return raw;
  if (raw.includes(":") && !raw.includes("%") && ipv6Prefix64(raw) !== undefined) return raw.toLowerCase();
  return undefined;
}
