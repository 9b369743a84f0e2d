/**
 * RFC 6750 §2.1: the token comes in `Authorization: Bearer <token68>`, or
 * (RFC 9449 §7.1) `Authorization: DPoP <token68>` for a DPoP-bound token,
 * only.
 * A token in the query (§2.3) or a form body (§2.2) is not accepted: it
 * leaks into logs, histories and `Referer`, and the query one would be
 * forwarded to the downstream with the URL. A query `access_token` is
 * refused outright, even beside a valid header, rather than ignored.
 */

/** Larger headers are refused before any parsing or crypto. */
export const MAX_AUTHORIZATION_HEADER_BYTES = 4096;

/** RFC 6750 §2.3's parameter name. */
const QUERY_TOKEN_PARAMETER = "access_token";

/** The HTTP authentication scheme the token came with (RFC 9110 §11.1: matched case-insensitively). */
export type TokenScheme = "Bearer" | "DPoP";

export type BearerExtraction =
  | { kind: "token"; token: string; scheme: TokenScheme }
  | { kind: "absent" }
  | { kind: "malformed"; description: string };

const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

const SCHEMES: ReadonlyMap<string, TokenScheme> = new Map([
  ["bearer", "Bearer"],
  ["dpop", "DPoP"],
]);

export function extractBearerToken(headers: Headers, url: URL): BearerExtraction {
  // Any case: a downstream framework may read query names case-insensitively.
  // (No query, no parameters: most requests skip parsing one.)
  for (const name of url.search === "" ? [] : url.searchParams.keys()) {
    if (name.toLowerCase() === QUERY_TOKEN_PARAMETER) {
      return {
        kind: "malformed",
        description: "access_token in the query is not accepted; use the Authorization header",
      };
    }
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
    return { kind: "malformed", description: "expected a single Bearer or DPoP credential" };
  }
  const token = match[2] as string;
  if (!TOKEN68.test(token)) return { kind: "malformed", description: "bearer credential is not token68" };
  return { kind: "token", token, scheme };
}
