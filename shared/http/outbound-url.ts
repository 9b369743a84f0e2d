import { isLocalIssuer } from "../config/issuer.ts";

/**
 * The one guard for URLs a tenant (an org admin, an org client) hands us and
 * a Worker of ours later fetches: a vault provider's endpoints, a client's or
 * trusted issuer's `jwks_uri`, an SSF push endpoint, an access webhook, an
 * MCP upstream, a CIMD client_id. Every validator calls it when the URL is
 * set, and every fetcher again just before the request (a row written before
 * this guard existed must not reach an internal address either).
 *
 * A Worker cannot resolve a name and pin the connection to the answer, so
 * names are judged as written: the guard refuses literals of special-purpose
 * addresses (RFC 6890) and names that are local by definition (RFC 6761,
 * RFC 6762, cloud metadata hosts). The Workers runtime's own egress does not
 * reach a deployment's private networks; this guard is what keeps the
 * self-hosted and local runtimes honest too.
 */

/** Names that always resolve to the machine itself or to a cloud's internal services. */
const FORBIDDEN_NAMES = new Set(["localhost", "metadata", "metadata.google.internal", "instance-data"]);
const FORBIDDEN_SUFFIXES = [".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".arpa"];

/**
 * Whether a URL's hostname (as the WHATWG parser gives it: `0x7f.1`,
 * `2130706433` and `0177.0.0.1` are already dotted decimal, IPv6 in
 * brackets) names a non-public place: an RFC 6890 special-purpose address,
 * a local name, a single label, or anything that does not parse.
 */
export function isForbiddenHost(hostname: string): boolean {
  const name = hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "");
  if (name === "" || name.endsWith(".") || FORBIDDEN_NAMES.has(name)) return true;
  if (FORBIDDEN_SUFFIXES.some((suffix) => name.endsWith(suffix))) return true;
  if (name.includes(":")) return isSpecialIpv6(name);
  const v4 = parseIpv4(name);
  if (v4) return isSpecialIpv4(v4);
  // Digits and dots that are not four decimal octets: a spelling the parser did not normalise.
  if (/^[\d.]+$/.test(name)) return true;
  // A single label has no public meaning (it resolves through a search domain, if at all).
  return !name.includes(".");
}

/** The local machine: `localhost` (RFC 6761 §6.3), 127.0.0.0/8, ::1. */
export function isLoopbackHost(hostname: string): boolean {
  const name = hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "");
  if (name === "localhost" || name.endsWith(".localhost") || name === "::1") return true;
  return parseIpv4(name)?.[0] === 127;
}

/**
 * Why `value` may not be fetched on a tenant's word, or undefined when it
 * may: https only (RFC 6749 §3.1, RFC 7591 §2, RFC 8935 §2), no credentials
 * or fragment, and not a forbidden host (isForbiddenHost).
 *
 * The one allowance: when the deployment's own issuer is a plain-http
 * loopback origin (local development and the tests: isLocalIssuer), a
 * loopback URL, http or https, is accepted, so the local JWKS, vault
 * provider and SSF receiver servers keep working. No public deployment has
 * such an issuer, so there it never applies; private, link-local and
 * metadata addresses are refused even locally.
 */
export function outboundUrlProblem(value: string, issuer: string): string | undefined {
  return problemOf(value, isLocalIssuer(issuer));
}

/**
 * outboundUrlProblem with no loopback allowance at all, for URLs that never
 * name a local server, not even in development (the access webhook, MCP
 * upstreams: the tests reach those through service bindings).
 */
export function publicOutboundUrlProblem(value: string): string | undefined {
  return problemOf(value, false);
}

function problemOf(value: string, loopbackAllowed: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "not a URL";
  }
  const localAllowed = loopbackAllowed && isLoopbackHost(url.hostname);
  if (url.protocol !== "https:" && !(localAllowed && url.protocol === "http:")) return "must be https";
  if (url.username || url.password || url.hash) return "no credentials or fragment";
  if (!localAllowed && isForbiddenHost(url.hostname)) {
    return "must not be a loopback, private, link-local or internal host";
  }
  return undefined;
}

/** outboundUrlProblem as a predicate, for validation rules. */
export function isPermittedOutboundUrl(value: string, issuer: string): boolean {
  return outboundUrlProblem(value, issuer) === undefined;
}

/** A fetch refused by the guard; `code` is stable, the message names the reason only (never the URL). */
export class OutboundUrlError extends Error {
  override readonly name = "OutboundUrlError";
  readonly code = OUTBOUND_URL_FORBIDDEN;
}

/** The stable code of a fetch the guard refused (in logs, audit details and outbox rows). */
export const OUTBOUND_URL_FORBIDDEN = "ERR_OUTBOUND_URL_FORBIDDEN";

/** The guard right before a fetch: throws OutboundUrlError when `value` is not permitted. */
export function assertOutboundUrl(value: string, issuer: string): void {
  const problem = outboundUrlProblem(value, issuer);
  if (problem !== undefined) throw new OutboundUrlError(`outbound URL refused: ${problem}`);
}

function parseIpv4(name: string): number[] | null {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(name);
  if (!match) return null;
  const octets = match.slice(1).map(Number);
  return octets.every((o) => o <= 255) ? octets : null;
}

/** RFC 6890 §2.2.2 (and RFC 6598, RFC 5737): IPv4 blocks that are not a public host. */
function isSpecialIpv4([a = 0, b = 0, c = 0]: number[]): boolean {
  return (
    a === 0 || // "this network"
    a === 10 || // private
    a === 127 || // loopback
    (a === 100 && b >= 64 && b <= 127) || // shared address space (CGN)
    (a === 169 && b === 254) || // link-local, cloud metadata (169.254.169.254)
    (a === 172 && b >= 16 && b <= 31) || // private
    (a === 192 && b === 0 && c === 0) || // IETF protocol assignments (192.0.0.170: NAT64 discovery)
    (a === 192 && b === 0 && c === 2) || // TEST-NET-1
    (a === 192 && b === 88 && c === 99) || // 6to4 relay anycast
    (a === 192 && b === 168) || // private
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    (a === 198 && b === 51 && c === 100) || // TEST-NET-2
    (a === 203 && b === 0 && c === 113) || // TEST-NET-3
    a >= 224 // multicast, reserved, broadcast
  );
}

/** RFC 6890 §2.2.3 (and RFC 3879 site-local): IPv6 blocks that are not a public host, or that embed an IPv4 one. */
function isSpecialIpv6(name: string): boolean {
  const groups = expandIpv6(name);
  if (!groups) return true; // unparseable: refuse rather than guess
  const [g0 = 0, g1 = 0, , , , g5 = 0, g6 = 0, g7 = 0] = groups;
  const allZeroTo = (n: number) => groups.slice(0, n).every((g) => g === 0);
  if (allZeroTo(8)) return true; // ::
  if (allZeroTo(7) && g7 === 1) return true; // ::1
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d): judge the embedded address.
  if (allZeroTo(5) && (g5 === 0xffff || g5 === 0)) {
    return isSpecialIpv4([g6 >> 8, g6 & 0xff, g7 >> 8, g7 & 0xff]);
  }
  if (g0 === 0x64 && g1 === 0xff9b) return true; // NAT64 64:ff9b::/96 and local-use 64:ff9b:1::/48
  if ((g0 & 0xfe00) === 0xfc00) return true; // unique local fc00::/7
  if ((g0 & 0xffc0) === 0xfe80) return true; // link-local fe80::/10
  if ((g0 & 0xffc0) === 0xfec0) return true; // site-local fec0::/10 (deprecated, still routed locally)
  if ((g0 & 0xff00) === 0xff00) return true; // multicast
  if (g0 === 0x2001 && g1 === 0x0db8) return true; // documentation
  if (g0 === 0x2002) return true; // 6to4 (embeds any IPv4)
  if (g0 === 0x2001 && g1 === 0) return true; // Teredo
  if (g0 === 0x0100 && allZeroTo(4)) return true; // discard-only 100::/64
  return false;
}

/** Eight 16-bit groups of an IPv6 literal (with an optional dotted IPv4 tail), or null. */
function expandIpv6(name: string): number[] | null {
  let text = name;
  const tail = /(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(text);
  if (tail?.[1]) {
    const v4 = parseIpv4(tail[1]);
    if (!v4) return null;
    const [a = 0, b = 0, c = 0, d = 0] = v4;
    text = `${text.slice(0, -tail[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string | undefined) => (part ? part.split(":").map((g) => Number.parseInt(g, 16)) : []);
  const head = parse(halves[0]);
  const rest = parse(halves[1]);
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 0) return null;
  const groups = [...head, ...new Array<number>(Math.max(missing, 0)).fill(0), ...rest];
  return groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}
