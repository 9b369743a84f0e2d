/** RFC 7617 §2: `Basic`, spaces, then token68 in the base64 alphabet (RFC 4648 §4) with its padding at the end only. */
const BASIC_CREDENTIALS = /^Basic +((?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?)$/i;

/**
 * HTTP Basic client credentials read strictly (RFC 6749 §2.3.1: id and
 * secret form-encoded, so `+` is a space and `%XX` a byte; RFC 7617 §2:
 * UTF-8 `user-id:password`). Better Auth's reader is lenient (it stops at
 * the first `=` and takes the base64url alphabet too), so whatever routes or
 * pre-checks a request Better Auth will answer reads the header this one
 * way, and a header this cannot read is refused, never guessed at.
 * `secret` is undefined when the decoded value has no colon. Undefined for
 * an unreadable header.
 */
export function strictBasicCredentials(authorization: string): { clientId: string; secret?: string } | undefined {
  const token = authorization.match(BASIC_CREDENTIALS)?.[1];
  if (!token) return undefined;
  try {
    const bytes = Uint8Array.from(atob(token), (c) => c.charCodeAt(0));
    const decoded = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
    const colon = decoded.indexOf(":");
    const formDecoded = (part: string) => decodeURIComponent(part.replaceAll("+", " "));
    return colon < 0
      ? { clientId: formDecoded(decoded) }
      : { clientId: formDecoded(decoded.slice(0, colon)), secret: formDecoded(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}
