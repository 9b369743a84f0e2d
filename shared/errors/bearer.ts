import { jsonErrorResponse } from "./json-error.ts";

/**
 * The one error helper for protected resources (the gateway): RFC 6750 §3
 * challenges for token problems, and a JSON 403 naming the decision id for
 * policy denials.
 */
export type BearerErrorCode =
  | "invalid_request"
  | "invalid_token"
  | "insufficient_scope"
  /** RFC 9449 §7.1: the DPoP proof sent with a DPoP-bound token is missing or invalid. */
  | "invalid_dpop_proof"
  /** RFC 9449 §9: the resource requires a nonce in the proof. */
  | "use_dpop_nonce";

const STATUS: Record<BearerErrorCode, number> = {
  invalid_request: 400,
  invalid_token: 401,
  insufficient_scope: 403,
  invalid_dpop_proof: 401,
  use_dpop_nonce: 401,
};

export interface BearerChallenge {
  /** RFC 6750 `Bearer` (the default), or RFC 9449 §7.1 `DPoP` for a request made with that scheme. */
  scheme?: "Bearer" | "DPoP";
  realm: string;
  /** Absent when the request carried no credentials (RFC 6750 §3.1). */
  error?: BearerErrorCode;
  description?: string;
  scope?: string;
  /** RFC 9728 §5.1, for MCP resources. */
  resourceMetadata?: string;
  /** RFC 9449 §7.1 `algs`: the DPoP proof algorithms accepted (DPoP scheme only). */
  algs?: readonly string[];
}

/** RFC 6750 §3: auth-param values are quoted-strings; keep them printable and quote-free. */
function quoted(value: string): string {
  return `"${value.replace(/[^\x20-\x7e]|["\\]/g, "")}"`;
}

export function bearerChallengeHeader(challenge: BearerChallenge): string {
  const params: string[] = [`realm=${quoted(challenge.realm)}`];
  if (challenge.error) params.push(`error=${quoted(challenge.error)}`);
  if (challenge.description) params.push(`error_description=${quoted(challenge.description)}`);
  if (challenge.scope) params.push(`scope=${quoted(challenge.scope)}`);
  if (challenge.resourceMetadata) params.push(`resource_metadata=${quoted(challenge.resourceMetadata)}`);
  if (challenge.algs && challenge.algs.length > 0) params.push(`algs=${quoted(challenge.algs.join(" "))}`);
  return `${challenge.scheme ?? "Bearer"} ${params.join(", ")}`;
}

export function bearerErrorResponse(challenge: BearerChallenge): Response {
  const status = challenge.error ? STATUS[challenge.error] : 401;
  const body = challenge.error
    ? { error: challenge.error, error_description: challenge.description ?? challenge.error }
    : { error: "unauthorized", error_description: "bearer token required" };
  return jsonErrorResponse(status, body, { "WWW-Authenticate": bearerChallengeHeader(challenge) });
}

/** A PDP denial: the caller is known, the policy says no. */
export function policyDeniedResponse(decisionId: string, reason: string): Response {
  return jsonErrorResponse(403, { error: "access_denied", error_description: reason, decision_id: decisionId });
}
