import type { AuditDetailValue, AuditEventInput } from "../../../../shared/audit/record-audit.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import { OAuthError } from "../../../../shared/errors/oauth.ts";
import { BodyTooLargeError } from "../../../../shared/http/read-body.ts";
import type { IssuedToken } from "../grants/types.ts";

/** Where a token request came in: the public endpoint or the RPC entrypoint. */
export type TokenChannel = "endpoint" | "rpc";

/** `token.issued`: who got which token, never the token itself. */
export function issuedEvent(
  issued: IssuedToken,
  channel: TokenChannel,
  detail: Record<string, AuditDetailValue>,
): AuditEventInput {
  const { claims } = issued.minted;
  return {
    kind: "token.issued",
    outcome: "issued",
    // An ID-JAG names its org as `tenant` (id-jag/sign-id-jag.ts).
    orgId: "org_id" in claims ? claims.org_id : (claims.tenant ?? null),
    subject: claims.sub,
    // RFC 8693 §4.1: the current actor of a delegated token.
    actor: claims.act?.sub ?? null,
    clientId: claims.client_id,
    detail: {
      ...detail,
      channel,
      jti: claims.jti,
      aud: Array.isArray(claims.aud) ? claims.aud.join(" ") : claims.aud,
      scope: issued.scope,
      exp: claims.exp,
      // RFC 8693 §2.2.1: what a token exchange issued (an access token, an ID-JAG).
      ...(issued.issuedTokenType ? { issued_token_type: issued.issuedTokenType } : {}),
      ...(claims.sid ? { sid: claims.sid } : {}),
    },
  };
}

/** `token.refused`: the error code and status; never what the client sent as a credential. */
export function refusedEvent(
  error: unknown,
  status: number,
  channel: TokenChannel,
  detail: Record<string, AuditDetailValue>,
  clientId: string | null = null,
): AuditEventInput {
  return {
    kind: "token.refused",
    outcome: "refused",
    clientId,
    detail: { ...detail, channel, error: refusalCode(error), status },
  };
}

function refusalCode(error: unknown): string {
  if (error instanceof OAuthError) return error.code;
  if (error instanceof BodyTooLargeError) return "payload_too_large";
  if (error instanceof HttpError) return error.code;
  return "server_error";
}
