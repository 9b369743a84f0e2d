import { PKCE_METHOD } from "../../../../shared/contracts/oidc.ts";
import { single } from "./authorize-refusal.ts";

/** RFC 7636 §4.2: `code-challenge = 43*128unreserved`, `unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"`. */
const CODE_CHALLENGE = /^[A-Za-z0-9._~-]{43,128}$/;

/**
 * RFC 7636 §4.2 S256: BASE64URL-ENCODE(SHA256(ASCII(code_verifier))), a
 * 32-byte digest without padding (§3, Appendix A): 43 characters of the
 * base64url alphabet, the last of which carries two zero bits (so it is one
 * of 16). Any other value equals no verifier's digest.
 */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

/**
 * What is wrong with the request's `code_challenge`, if anything. Better
 * Auth 1.7 takes any string as a challenge (its schema says only
 * `z.string()`), stores it with the code, and fails the code's redemption
 * later (`invalid_grant`) because no verifier's digest equals it: the client
 * learns of its broken PKCE only after the person has signed in and
 * consented, and the malformed value is kept with the grant. It is an
 * invalid parameter value (RFC 6749 §4.1.2.1 `invalid_request`), refused at
 * the authorization endpoint, as RFC 7636 §4.4.1 refuses a missing one.
 *
 * No challenge (or an empty one, OIDC Core §3.1.2.1: treated as absent) is
 * left to Better Auth, which requires PKCE of every client and says so; a
 * method other than S256 too (it refuses `plain` and the rest itself).
 */
export function codeChallengeProblem(params: URLSearchParams): string | undefined {
  const challenges = params.getAll("code_challenge");
  if (challenges.length > 1) return "code_challenge must not be repeated (RFC 6749 §3.1)";
  const challenge = challenges[0];
  if (!challenge) return undefined;
  if (!CODE_CHALLENGE.test(challenge)) {
    return "code_challenge must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.2)";
  }
  if (single(params, "code_challenge_method") === PKCE_METHOD && !S256_CHALLENGE.test(challenge)) {
    return "an S256 code_challenge is the 43-character base64url SHA-256 digest of the code verifier (RFC 7636 §4.2)";
  }
  return undefined;
}
