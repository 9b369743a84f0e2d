/** Why a downstream refused a gateway assertion: stable codes for tests, logs and the 403 body. */
export type GatewayAssertionErrorCode =
  | "ERR_ASSERTION_MISSING"
  | "ERR_ASSERTION_MALFORMED"
  | "ERR_ASSERTION_ALG"
  | "ERR_ASSERTION_TYP"
  | "ERR_ASSERTION_KID_UNKNOWN"
  | "ERR_ASSERTION_SIGNATURE"
  | "ERR_ASSERTION_ISS"
  | "ERR_ASSERTION_AUD"
  | "ERR_ASSERTION_ORG"
  | "ERR_ASSERTION_EXPIRED"
  | "ERR_ASSERTION_NOT_YET_VALID"
  | "ERR_ASSERTION_LIFETIME"
  | "ERR_ASSERTION_CLAIM_INVALID"
  | "ERR_ASSERTION_FILTER_MISMATCH"
  | "ERR_ASSERTION_HEADER_MISMATCH"
  | "ERR_ASSERTION_REQUEST_MISMATCH";

const DESCRIPTION: Record<GatewayAssertionErrorCode, string> = {
  ERR_ASSERTION_MISSING: "no gateway assertion",
  ERR_ASSERTION_MALFORMED: "gateway assertion is not a well-formed JWS",
  ERR_ASSERTION_ALG: "gateway assertion algorithm not allowed",
  ERR_ASSERTION_TYP: "not a gateway assertion",
  ERR_ASSERTION_KID_UNKNOWN: "gateway assertion signed by an unknown key",
  ERR_ASSERTION_SIGNATURE: "gateway assertion signature invalid",
  ERR_ASSERTION_ISS: "gateway assertion issuer not accepted",
  ERR_ASSERTION_AUD: "gateway assertion is for another service",
  ERR_ASSERTION_ORG: "gateway assertion is for another organization",
  ERR_ASSERTION_EXPIRED: "gateway assertion expired",
  ERR_ASSERTION_NOT_YET_VALID: "gateway assertion not yet valid",
  ERR_ASSERTION_LIFETIME: "gateway assertion lifetime longer than allowed",
  ERR_ASSERTION_CLAIM_INVALID: "gateway assertion lacks a claim or has an invalid one",
  ERR_ASSERTION_FILTER_MISMATCH: "X-ABAC-Filter is not the filter the gateway signed",
  ERR_ASSERTION_HEADER_MISMATCH: "trusted headers differ from what the gateway signed",
  ERR_ASSERTION_REQUEST_MISMATCH: "gateway assertion was made for another request",
};

export class GatewayAssertionError extends Error {
  override readonly name = "GatewayAssertionError";
  constructor(
    readonly code: GatewayAssertionErrorCode,
    /** For logs only. */
    readonly detail?: string,
  ) {
    super(DESCRIPTION[code]);
  }

  get publicDescription(): string {
    return `${this.code}: ${DESCRIPTION[this.code]}`;
  }
}
