/** RFC 8707 §2: the one authorization request parameter a client may send several times. */
const REPEATABLE: ReadonlySet<string> = new Set(["resource"]);

/**
 * The first parameter the request repeats, as a problem, if any. RFC 6749
 * §3.1: "Request and response parameters MUST NOT be included more than
 * once." Better Auth refuses a repeat in a GET's query, but reads a POSTed
 * form (OIDC Core §3.1.2.1) as its last value of each: a second
 * `code_challenge_method=S256` took the challenge past the S256 check
 * (pkce-challenge.ts), which reads a method only when it is sent once, and
 * Better Auth kept a challenge no verifier matches. Refused for both
 * methods, so GET and POST answer alike.
 */
export function repeatedParameterProblem(params: URLSearchParams): string | undefined {
  const seen = new Set<string>();
  for (const name of params.keys()) {
    if (seen.has(name) && !REPEATABLE.has(name)) return `${name} must not be repeated (RFC 6749 §3.1)`;
    seen.add(name);
  }
  return undefined;
}
