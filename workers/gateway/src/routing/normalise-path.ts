/**
 * The one path the gateway decides on and forwards. A gateway and the
 * service behind it must read a path the same way, or a request routed and
 * authorised as one path is served as another (path confusion: `/public/..%2fadmin`,
 * Tomcat's `/..;/`, IIS's `\`). So the path is normalised exactly once, here;
 * the route is matched, the policy is asked, the audit record is written and
 * the upstream is called with the result, never with the raw path.
 *
 * Normalising (RFC 3986 §6.2.2): percent-encoded unreserved characters are
 * decoded (§2.3: `%2e` is `.`, `%41` is `A`), the remaining escapes upper-cased
 * (§6.2.2.1), empty segments dropped (`//` is `/`), and dot segments removed
 * (§5.2.4). A backslash is a slash, as the WHATWG URL parser already treats it
 * for http(s).
 *
 * Refused, because no single reading is safe (each with its stable code):
 * - an encoded `/` or `\` (`%2f`, `%5c`): decoded it splits a segment the raw
 *   path kept whole, and servers disagree on whether to decode it;
 * - an encoded `%` (`%25`): it only makes sense to smuggle a second decoding;
 * - `;` parameters, raw or encoded: some servers strip `;…` from every
 *   segment (so `/..;/` is `..`), others keep it as part of the name;
 * - control characters, raw or encoded (a NUL ends a string in C, CR/LF split
 *   a header line), and malformed escapes;
 * - `..` that would climb above the root;
 * - a path longer than MAX_PATH_LENGTH.
 */

/**
 * Longer paths are refused before any work: the one origin serves nothing
 * that long. (Cloudflare itself refuses URLs over 16 KB; audit records cap
 * the path they keep, shared/audit/caps.ts.)
 */
export const MAX_PATH_LENGTH = 8192;

export type PathErrorCode =
  | "ERR_PATH_NOT_ABSOLUTE"
  | "ERR_PATH_TOO_LONG"
  | "ERR_PATH_ENCODING"
  | "ERR_PATH_ENCODED_SEPARATOR"
  | "ERR_PATH_DOUBLE_ENCODING"
  | "ERR_PATH_PARAMETERS"
  | "ERR_PATH_CONTROL_CHARACTER"
  | "ERR_PATH_TRAVERSAL";

const DESCRIPTION: Record<PathErrorCode, string> = {
  ERR_PATH_NOT_ABSOLUTE: "the path must start with /",
  ERR_PATH_TOO_LONG: `the path is longer than ${MAX_PATH_LENGTH} characters`,
  ERR_PATH_ENCODING: "the path has a malformed percent-encoding",
  ERR_PATH_ENCODED_SEPARATOR: "an encoded / or \\ is not accepted in the path",
  ERR_PATH_DOUBLE_ENCODING: "an encoded % is not accepted in the path",
  ERR_PATH_PARAMETERS: "; path parameters are not accepted",
  ERR_PATH_CONTROL_CHARACTER: "control characters are not accepted in the path",
  ERR_PATH_TRAVERSAL: "the path climbs above the root",
};

export class PathError extends Error {
  override readonly name = "PathError";
  constructor(readonly code: PathErrorCode) {
    super(DESCRIPTION[code]);
  }

  /** For the error body: code first, so it can be matched. */
  get publicDescription(): string {
    return `${this.code}: ${DESCRIPTION[this.code]}`;
  }
}

/** Anything that may need work; a path without any of these is already normal. */
const NEEDS_WORK = /[%;\\\x00-\x20\x7f]|\/\/|\/\.(?:\/|\.?$|\.\/)/;

const HEX = /^[0-9A-Fa-f]{2}$/;

/** RFC 3986 §2.3 unreserved characters: their escapes are decoded. */
function isUnreserved(byte: number): boolean {
  return (
    (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x61 && byte <= 0x7a) ||
    (byte >= 0x30 && byte <= 0x39) ||
    byte === 0x2d ||
    byte === 0x2e ||
    byte === 0x5f ||
    byte === 0x7e
  );
}

function isControl(code: number): boolean {
  return code < 0x20 || code === 0x7f;
}

/** Returns the normal form of an absolute path, or throws PathError. */
export function normalisePath(path: string): string {
  if (!path.startsWith("/")) throw new PathError("ERR_PATH_NOT_ABSOLUTE");
  if (path.length > MAX_PATH_LENGTH) throw new PathError("ERR_PATH_TOO_LONG");
  if (!NEEDS_WORK.test(path)) return path;
  return removeDotSegments(decodeUnreserved(path));
}

/** One pass over the escapes: unreserved ones decoded, dangerous ones refused, the rest upper-cased. */
function decodeUnreserved(path: string): string {
  let out = "";
  for (let i = 0; i < path.length; i++) {
    const char = path[i] as string;
    const code = char.charCodeAt(0);
    if (isControl(code) || char === " ") throw new PathError("ERR_PATH_CONTROL_CHARACTER");
    if (char === ";") throw new PathError("ERR_PATH_PARAMETERS");
    if (char === "\\") {
      out += "/";
      continue;
    }
    if (char !== "%") {
      out += char;
      continue;
    }
    const hex = path.slice(i + 1, i + 3);
    if (!HEX.test(hex)) throw new PathError("ERR_PATH_ENCODING");
    const byte = Number.parseInt(hex, 16);
    i += 2;
    if (byte === 0x2f || byte === 0x5c) throw new PathError("ERR_PATH_ENCODED_SEPARATOR");
    if (byte === 0x25) throw new PathError("ERR_PATH_DOUBLE_ENCODING");
    if (byte === 0x3b) throw new PathError("ERR_PATH_PARAMETERS");
    if (isControl(byte)) throw new PathError("ERR_PATH_CONTROL_CHARACTER");
    out += isUnreserved(byte) ? String.fromCharCode(byte) : `%${hex.toUpperCase()}`;
  }
  return out;
}

/** RFC 3986 §5.2.4 on a decoded path, empty segments dropped; a trailing slash is kept. */
function removeDotSegments(path: string): string {
  const segments: string[] = [];
  const parts = path.split("/");
  for (const part of parts) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (segments.length === 0) throw new PathError("ERR_PATH_TRAVERSAL");
      segments.pop();
      continue;
    }
    segments.push(part);
  }
  const last = parts[parts.length - 1];
  const trailingSlash = segments.length > 0 && (last === "" || last === "." || last === "..");
  return `/${segments.join("/")}${trailingSlash ? "/" : ""}`;
}
