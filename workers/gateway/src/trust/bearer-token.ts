/**
 * RFC 6750 §2.1: the token comes in `Authorization: Bearer <token68>`, only.
 * Query (§2.3) and body (§2.2) tokens are not accepted: they leak into logs.
 */

/** Larger headers are refused before any parsing or crypto. */
export const MAX_AUTHORIZATION_HEADER_BYTES = 4096;

export type BearerExtraction =
  | { kind: "token"; token: string }
  | { kind: "absent" }
  | { kind: "malformed"; description: string };

const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

export function extractBearerToken(headers: Headers): BearerExtraction {
  const value = headers.get("Authorization");
  if (value === null) return { kind: "absent" };
  if (value.length > MAX_AUTHORIZATION_HEADER_BYTES) {
    return { kind: "malformed", description: "authorization header too large" };
  }
  // RFC 9110 §11.1: the scheme is case-insensitive; exactly one space-separated credential.
  const match = /^([A-Za-z]+) +(\S+)$/.exec(value.trim());
  if (!match || match[1]?.toLowerCase() !== "bearer") {
    return { kind: "malformed", description: "expected a single Bearer credential" };
  }
  const token = match[2] as string;
  if (!TOKEN68.test(token)) return { kind: "malformed", description: "bearer credential is not token68" };
  return { kind: "token", token };
}
