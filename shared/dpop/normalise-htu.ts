/**
 * The form of an HTTP URI that RFC 9449 §4.3 step 9 compares `htu` in: the
 * URI "ignoring any query and fragment parts", after RFC 3986 §6.2.2 syntax
 * and §6.2.3 scheme-based normalisation (case of scheme and host, default
 * port, empty path as `/`), which the WHATWG URL parser performs. Undefined
 * for anything that is not an absolute http(s) URI.
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
  return `${url.origin}${url.pathname}`;
}
