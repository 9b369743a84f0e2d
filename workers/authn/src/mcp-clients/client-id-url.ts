import { CIMD_ERROR, CimdError } from "./errors.ts";

const MAX_CLIENT_ID_LENGTH = 2048;

/** Whether a client_id names a metadata document (else it is a registered client's id). */
export function isMetadataDocumentClientId(clientId: string): boolean {
  return clientId.startsWith("https://");
}

/**
 * draft-ietf-oauth-client-id-metadata-document §3: the client_id is an https
 * URL with a path component, no fragment, no credentials, no `.`/`..` path
 * segments. The URL must also be exactly as parsed (no normalisation hides a
 * second spelling of the same client), and its host must be a public address
 * (§6.5; see isForbiddenHost).
 */
export function parseClientIdUrl(clientId: string): URL {
  const refuse = (why: string): never => {
    throw new CimdError(CIMD_ERROR.invalidClientId, why);
  };
  if (clientId.length > MAX_CLIENT_ID_LENGTH) refuse("client_id is too long");
  let url: URL | undefined;
  try {
    url = new URL(clientId);
  } catch {
    refuse("client_id is not a URL");
  }
  if (!url) return refuse("client_id is not a URL");
  if (url.protocol !== "https:") refuse("client_id must be an https URL");
  // Before the normal-form check: `0x7f.1` is loopback, whatever else is wrong with it.
  if (isForbiddenHost(url.hostname)) {
    throw new CimdError(CIMD_ERROR.forbiddenAddress, "client_id names a non-public address");
  }
  if (url.username || url.password) refuse("client_id must not carry credentials");
  if (clientId.includes("#")) refuse("client_id must not carry a fragment");
  if (url.pathname === "/" || url.pathname === "") refuse("client_id must have a path");
  if (/\/\.{1,2}(\/|$)/.test(pathOf(clientId))) refuse("client_id must not contain dot segments");
  if (url.href !== clientId) refuse("client_id must be in its normal form");
  return url;
}

/** The raw path of a URL string, before the parser resolves dot segments away. */
function pathOf(raw: string): string {
  const afterScheme = raw.slice(raw.indexOf("//") + 2);
  const slash = afterScheme.indexOf("/");
  if (slash < 0) return "";
  return afterScheme.slice(slash).split(/[?#]/)[0] ?? "";
}

/** Names that always resolve to the machine itself or to a cloud's internal services. */
const FORBIDDEN_NAMES = new Set(["localhost", "metadata", "metadata.google.internal", "instance-data"]);
const FORBIDDEN_SUFFIXES = [".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".arpa"];

/**
 * RFC 6890 special-purpose addresses, written as literals (the WHATWG parser
 * has already turned `0x7f.1` or `2130706433` into dotted decimal), plus names
 * that are local by definition (RFC 6761, RFC 6762, cloud metadata hosts). A
 * Worker cannot resolve a name and pin the connection to the answer: names are
 * judged as written, and the Workers runtime's own egress does not reach the
 * deployment's private networks (see README: what the refusal covers).
 */
export function isForbiddenHost(hostname: string): boolean {
  const name = hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "");
  if (name === "" || FORBIDDEN_NAMES.has(name)) return true;
  if (FORBIDDEN_SUFFIXES.some((suffix) => name.endsWith(suffix))) return true;
  if (name.includes(":")) return isSpecialIpv6(name);
  const v4 = parseIpv4(name);
  if (v4) return isSpecialIpv4(v4);
  // A single label has no public meaning (it resolves through a search domain, if at all).
  return !name.includes(".");
}

function parseIpv4(name: string): number[] | null {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(name);
  if (!match) return null;
  const octets = match.slice(1).map(Number);
  return octets.every((o) => o <= 255) ? octets : null;
}

function isSpecialIpv4([a = 0, b = 0, c = 0]: number[]): boolean {
  return (
    a === 0 || // "this network"
    a === 10 || // private
    a === 127 || // loopback
    (a === 100 && b >= 64 && b <= 127) || // shared address space (CGN)
    (a === 169 && b === 254) || // link-local, cloud metadata (169.254.169.254)
    (a === 172 && b >= 16 && b <= 31) || // private
    (a === 192 && b === 0 && c === 0) || // IETF protocol assignments
    (a === 192 && b === 0 && c === 2) || // TEST-NET-1
    (a === 192 && b === 88 && c === 99) || // 6to4 relay anycast
    (a === 192 && b === 168) || // private
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    (a === 198 && b === 51 && c === 100) || // TEST-NET-2
    (a === 203 && b === 0 && c === 113) || // TEST-NET-3
    a >= 224 // multicast, reserved, broadcast
  );
}

function isSpecialIpv6(name: string): boolean {
  const groups = expandIpv6(name);
  if (!groups) return true; // unparseable: refuse rather than guess
  const [g0 = 0, g1 = 0, , , , g5 = 0, g6 = 0, g7 = 0] = groups;
  const allZeroTo = (n: number) => groups.slice(0, n).every((g) => g === 0);
  if (allZeroTo(8)) return true; // ::
  if (allZeroTo(7) && g7 === 1) return true; // ::1
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible: judge the embedded address.
  if (allZeroTo(5) && (g5 === 0xffff || g5 === 0)) {
    return isSpecialIpv4([g6 >> 8, g6 & 0xff, g7 >> 8, g7 & 0xff]);
  }
  if (g0 === 0x64 && g1 === 0xff9b) return true; // NAT64
  if ((g0 & 0xfe00) === 0xfc00) return true; // unique local fc00::/7
  if ((g0 & 0xffc0) === 0xfe80) return true; // link-local fe80::/10
  if ((g0 & 0xff00) === 0xff00) return true; // multicast
  if (g0 === 0x2001 && g1 === 0x0db8) return true; // documentation
  if (g0 === 0x2002) return true; // 6to4 (embeds any IPv4)
  if (g0 === 0x2001 && g1 === 0) return true; // Teredo
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
