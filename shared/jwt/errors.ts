/**
 * Why a token was refused. Each code is stable: tests, audit records and the
 * `error_description` a client sees all use it.
 */
export type TokenErrorCode =
  | "ERR_TOKEN_MALFORMED"
  | "ERR_TOKEN_ALG"
  | "ERR_TOKEN_TYP"
  | "ERR_TOKEN_KID_UNKNOWN"
  | "ERR_TOKEN_SIGNATURE"
  | "ERR_TOKEN_EXPIRED"
  | "ERR_TOKEN_NOT_YET_VALID"
  | "ERR_TOKEN_LIFETIME"
  | "ERR_TOKEN_ISS"
  | "ERR_TOKEN_AUD"
  | "ERR_TOKEN_CLAIM_MISSING"
  | "ERR_TOKEN_CLAIM_INVALID"
  | "ERR_TOKEN_REVOKED";

/** What a client may be told for each code: enough to fix its request, nothing more. */
const DESCRIPTION: Record<TokenErrorCode, string> = {
  ERR_TOKEN_MALFORMED: "token is not a well-formed JWS",
  ERR_TOKEN_ALG: "token algorithm not allowed",
  ERR_TOKEN_TYP: "token type not accepted here",
  ERR_TOKEN_KID_UNKNOWN: "token signed by an unknown key",
  ERR_TOKEN_SIGNATURE: "token signature invalid",
  ERR_TOKEN_EXPIRED: "token expired",
  ERR_TOKEN_NOT_YET_VALID: "token not yet valid",
  ERR_TOKEN_LIFETIME: "token lifetime longer than allowed",
  ERR_TOKEN_ISS: "token issuer not accepted",
  ERR_TOKEN_AUD: "token audience not accepted",
  ERR_TOKEN_CLAIM_MISSING: "token lacks a required claim",
  ERR_TOKEN_CLAIM_INVALID: "token claim invalid",
  ERR_TOKEN_REVOKED: "token revoked",
};

export class TokenVerificationError extends Error {
  override readonly name = "TokenVerificationError";
  constructor(
    readonly code: TokenErrorCode,
    /** Internal detail for logs; never sent to the client. */
    readonly detail?: string,
  ) {
    super(DESCRIPTION[code]);
  }

  /** The text for RFC 6750 `error_description`: code first, so it can be matched. */
  get publicDescription(): string {
    return `${this.code}: ${DESCRIPTION[this.code]}`;
  }
}
