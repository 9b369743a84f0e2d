/**
 * RFC 6750 §2.1: the token comes in `Authorization: Bearer <token68>`, or
 * (RFC 9449 §7.1) `Authorization: DPoP <token68>` for a DPoP-bound token,
 * only.
 * A token in the query (§2.3) or a form body (§2.2) is not accepted: it
 * leaks into logs, histories and `Referer`, and the query one would be
 * forwarded to the downstream with the URL. A query `access_token` is
 * refused outright, even beside a valid header, rather than ignored, in
 * every spelling a downstream framework could read as it
 * (isQueryTokenParameter).
 */

/**
 * Larger headers are refused before any parsing or crypto. 8 KiB, the
 * token Worker's own cap on a presented token and common proxies' default
 * header line: the largest token our limits issue (an `act` chain at the
 * deepest delegation policy, with its `derived_from` and `grant_chain`;
 * test/gateway/largest-token.test.ts) is about 5 KiB, past the 4 KiB this was.
 */
export const MAX_AUTHORIZATION_HEADER_BYTES = 8192;

/**
 * RFC 6750 §2.3's parameter name, as compared: lower case, letters and
 * digits only (isQueryTokenParameter).
 */
const QUERY_TOKEN_PARAMETER = "accesstoken";

/** The HTTP authentication scheme the token came with (RFC 9110 §11.1: matched case-insensitively). */
export type TokenScheme = "Bearer" | "DPoP";

export type BearerExtraction =
  | { kind: "token"; token: string; scheme: TokenScheme }
  | { kind: "absent" }
  /**
   * RFC 6750 §3.1: credentials of a scheme this resource does not take
   * (`Basic`, `Negotiate`, …) are answered as no credentials are, a bare
   * challenge with no error code, so a client learns which scheme to use
   * (an MCP client starts discovery from that 401).
   */
  | { kind: "other-scheme" }
  | { kind: "malformed"; description: string };

const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

/** A credential list item (RFC 9110 §11.6.2) that starts with one of our schemes. */
const OUR_SCHEME = /(?:^|,)\s*(?:bearer|dpop)(?:\s|,|$)/i;

/** RFC 9110 §11.4 credentials of some scheme (`Basic …`, `Negotiate …`, `AWS4-HMAC-SHA256 …`). */
const OTHER_SCHEME = /^[A-Za-z][A-Za-z0-9-]*(?: |$)/;

const SCHEMES: ReadonlyMap<string, TokenScheme> = new Map([
  ["bearer", "Bearer"],
  ["dpop", "DPoP"],
]);

export function extractBearerToken(headers: Headers, url: URL): BearerExtraction {
  // (No query, no parameters: most requests skip looking.)
  if (url.search !== "" && hasQueryToken(url.search)) {
    return {
      kind: "malformed",
      description: "access_token in the query is not accepted, in any spelling; use the Authorization header",
    };
  }
  const value = headers.get("Authorization");
  if (value === null) return { kind: "absent" };
  if (value.length > MAX_AUTHORIZATION_HEADER_BYTES) {
    return { kind: "malformed", description: "authorization header too large" };
  }
  // RFC 9110 §11.1: the scheme is case-insensitive; exactly one space-separated credential.
  const match = /^([A-Za-z]+) +(\S+)$/.exec(value.trim());
  const scheme = SCHEMES.get(match?.[1]?.toLowerCase() ?? "");
  if (!match || !scheme) {
    // A Bearer or DPoP credential anywhere in it (`Bearer`, `Bearer a b`, `Basic x, Bearer y`) is ours,
    // malformed; so is what names no scheme (a bare JWT: its dots are in no registered scheme's name).
    if (OTHER_SCHEME.test(value.trim()) && !OUR_SCHEME.test(value)) return { kind: "other-scheme" };
    return { kind: "malformed", description: "expected a single Bearer or DPoP credential" };
  }
  const token = match[2] as string;
  if (!TOKEN68.test(token)) return { kind: "malformed", description: "bearer credential is not token68" };
  return { kind: "token", token, scheme };
}

/**
 * Whether a query (`url.search`, still percent-encoded) has a parameter a
 * downstream framework could read as `access_token`. The gateway does not
 * see the downstream's parser, so it refuses what any common one would map
 * there:
 * - parameters split on `&` and on `;` (HTML 4's alternative separator,
 *   still honoured by some servers and older Python);
 * - the name form-decoded (`+` is a space), percent-decoded leniently (an
 *   invalid escape stays as is, as PHP leaves it; UTF-8 read whole) and
 *   again while it keeps changing, up to three times, for a framework that
 *   decodes twice;
 * - compared case-insensitively (Unicode folding: isQueryTokenParameter) on
 *   its letters and digits alone, so
 *   `ACCESS_TOKEN`, PHP's `access.token` and `access token` (both read as
 *   `access_token`), `access-token` and `accessToken` all count;
 * - with an array or map suffix cut (`access_token[]`, `access_token[0]`:
 *   PHP, Rack and qs read these as `access_token`).
 *
 * Only `access_token`, RFC 6750 §2.3's name: it is the one a bearer-aware
 * framework authenticates from (the gateway's token would then stand in
 * for the gateway's headers). `token`, `id_token`, `api_key` are not ours
 * and are common in APIs for other things (page and continuation tokens,
 * a downstream's own key to a third party); refusing them would break
 * legitimate queries without stopping anyone from pasting a token under
 * another name.
 */
function hasQueryToken(search: string): boolean {
  for (const parameter of search.slice(search.startsWith("?") ? 1 : 0).split(/[&;]/)) {
    const equals = parameter.indexOf("=");
    let name = equals === -1 ? parameter : parameter.slice(0, equals);
    // A name holding none of the letters cannot be one, whatever it decodes to: the common case stops here.
    if (name.length < QUERY_TOKEN_PARAMETER.length) continue;
    name = name.replaceAll("+", " ");
    for (let round = 0; round < 3 && name.includes("%"); round++) {
      const decoded = name.replace(PERCENT_RUN, decodeRun);
      if (decoded === name) break;
      name = decoded;
    }
    if (isQueryTokenParameter(name)) return true;
  }
  return false;
}

/** A run of `%XX` escapes: decoded together, so a multi-byte UTF-8 character is read whole. */
const PERCENT_RUN = /(?:%[0-9A-Fa-f]{2})+/g;

/** `%XX` for an ASCII byte. */
const ASCII_ESCAPE = /%([0-7][0-9A-Fa-f])/g;

/** A run as UTF-8; a run that is no UTF-8 has only its ASCII escapes decoded, as a lenient decoder leaves the rest. */
function decodeRun(run: string): string {
  try {
    return decodeURIComponent(run);
  } catch {
    return run.replace(ASCII_ESCAPE, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  }
}

/**
 * Compared after Unicode case folding (upper then lower case, as
 * mcp/ambiguous-members.ts folds), because Go's strings.EqualFold and Java's
 * equalsIgnoreCase match names that way: the long s `ſ` (U+017F) is `s` and
 * the Kelvin sign (U+212A) is `k`, so `acceſſ_token` and `access_toKen`
 * (Kelvin) read as access_token there. Those arrive UTF-8 percent-encoded,
 * hence decodeRun.
 */
function isQueryTokenParameter(decodedName: string): boolean {
  const bracket = decodedName.indexOf("[");
  // `access_token[]` is an array of it; `access[token]` is another parameter (`access`).
  const base = bracket > 0 && decodedName.includes("]", bracket) ? decodedName.slice(0, bracket) : decodedName;
  return (
    base
      .toUpperCase()
      .toLowerCase()
      .replace(/[^a-z0-9]/g, "") === QUERY_TOKEN_PARAMETER
  );
}
