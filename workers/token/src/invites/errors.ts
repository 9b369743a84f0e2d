import { jsonErrorResponse } from "../../../../shared/errors/json-error.ts";

/**
 * The host-bootstrap protocol's errors (docs/endpoints.md, "Host
 * bootstrap"). Bootstrap is a registration, like RFC 7591 dynamic client
 * registration, whose §3.2.2 answers 400 with a JSON `error`; the invite
 * plays the part of its signed software statement. The codes are finer than
 * RFC 7591's `invalid_software_statement` because a host's operator must be
 * able to tell "ask for a new invite" (expired, already used) from "this is
 * not one of our invites" and from "your key or proof is wrong".
 */
export type HostBootstrapErrorCode =
  /** The body is not the JSON object the endpoint takes. */
  | "invalid_request"
  /** Not an invite of this issuer: signature, `alg`, `typ`, `iss`, `aud`, claims, or no such invite. */
  | "invite_invalid"
  | "invite_expired"
  /** Redeemed before (single use); also the answer to every loser of a race. */
  | "invite_already_used"
  /** The proof of possession does not verify, is stale, or is for another invite or endpoint. */
  | "invalid_proof"
  /** The key offered is not one a `private_key_jwt` client may register (symmetric, private, weak, unsupported). */
  | "invalid_key";

const STATUS: Record<HostBootstrapErrorCode, number> = {
  invalid_request: 400,
  invite_invalid: 400,
  invite_expired: 400,
  // RFC 9110 §15.5.10: the request conflicts with the invite's state.
  invite_already_used: 409,
  invalid_proof: 400,
  invalid_key: 400,
};

export class HostBootstrapError extends Error {
  override readonly name = "HostBootstrapError";
  readonly status: number;
  constructor(
    readonly code: HostBootstrapErrorCode,
    readonly description: string,
  ) {
    super(`${code}: ${description}`);
    this.status = STATUS[code];
  }
}

export function hostBootstrapErrorResponse(error: HostBootstrapError): Response {
  return jsonErrorResponse(error.status, { error: error.code, error_description: error.description });
}
