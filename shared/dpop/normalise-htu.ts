/**
 * The form of an HTTP URI that RFC 9449 §4.3 step 9 compares `htu` in: the
 * URI "ignoring any query and fragment parts", after RFC 3986 §6.2.2
 * syntax-based and §6.2.3 scheme-based normalisation. The WHATWG URL parser
 * does the case of scheme and host, the default port, an empty path as `/`
 * and dot segments; it leaves percent-escapes as written, so a proof for
 * `/a/~b` did not match a request for `/a/%7Eb`, nor `%7e` one for `%7E`.
 * The path's escapes are therefore normalised too (normaliseEscapes).
 * Undefined for anything that is not an absolute http(s) URI.
 */
export function normaliseHtu(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return undefined;
  if (url.username || url.password) return undefined;
  return `${url.origin}${normaliseEscapes(url.pathname)}`;
}

const ESCAPE = /%([0-9A-Fa-f]{2})/g;

/** RFC 3986 §2.3: ALPHA / DIGIT / "-" / "." / "_" / "~". */
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/**
 * RFC 3986 §6.2.2.2: an escape of an unreserved character is that
 * character; §6.2.2.1: the hex digits of every other escape are upper case.
 * Reserved characters stay escaped (§2.2: `%2F` is data, `/` a delimiter,
 * so `/a%2Fb` and `/a/b` are different resources), and so does every escape
 * of a byte above 0x7F. No dot segment can appear from a decoded `%2E`: the
 * URL parser already took `%2e` and `%2e%2e` segments for `.` and `..`.
 */
function normaliseEscapes(path: string): string {
  return path.replace(ESCAPE, (_, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
}
