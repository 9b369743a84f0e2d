import type { Context } from "hono";
import { recordAuditInBackground } from "../../../../shared/audit/record-audit.ts";
import { httpErrorResponse, internalErrorResponse } from "../../../../shared/errors/http.ts";
import { NO_STORE_HEADERS } from "../../../../shared/errors/oauth.ts";
import { BodyTooLargeError, readBodyCapped } from "../../../../shared/http/read-body.ts";
import { tokenConfig } from "../config.ts";
import { HostBootstrapError, hostBootstrapErrorResponse } from "../invites/errors.ts";
import { type BootstrapAttempt, redeemedEvent, refusedEvent } from "../invites/invite-audit.ts";
import { type HostBootstrapRequest, redeemHostInvite } from "../invites/redeem-invite.ts";

type TokenContext = Context<{ Bindings: TokenEnv }>;

/** An invite and a proof are a few KiB at most (RSA keys are the largest part). */
export const MAX_HOST_BOOTSTRAP_BYTES = 16 * 1024;

/**
 * POST ENDPOINT.hostBootstrap (docs/endpoints.md, "Host bootstrap"): a host
 * presents its invite and a proof that it holds a new key; it leaves as a
 * `private_key_jwt` client of the invite's org (invites/redeem-invite.ts).
 * Answers 201 with the client's id and the token endpoint, or a
 * HostBootstrapError code. Every outcome is audited.
 */
export async function hostBootstrapEndpoint(c: TokenContext): Promise<Response> {
  const env = c.env;
  const attempt: BootstrapAttempt = { orgId: null, jti: null };
  try {
    const request = await readBootstrapRequest(c.req.raw);
    const config = tokenConfig(env);
    const redeemed = await redeemHostInvite(request, { env, config }, attempt);
    c.executionCtx.waitUntil(recordAuditInBackground(env, redeemedEvent(redeemed)));
    return Response.json(
      {
        client_id: redeemed.clientId,
        org_id: redeemed.orgId,
        issuer: config.issuer,
        token_endpoint: redeemed.tokenEndpoint,
        token_endpoint_auth_method: "private_key_jwt",
        grant_types: redeemed.grantTypes,
        kid: redeemed.kid,
        scope: redeemed.scope,
        audiences: redeemed.audiences,
        // RFC 7591 §3.2.1 echoes client metadata; RFC 9449 §5.2 names this one.
        dpop_bound_access_tokens: redeemed.dpopBoundAccessTokens,
      },
      { status: 201, headers: NO_STORE_HEADERS },
    );
  } catch (error) {
    const { response, code } = refusal(error);
    c.executionCtx.waitUntil(recordAuditInBackground(env, refusedEvent(attempt, code, response.status)));
    return response;
  }
}

/** The answer to a failed bootstrap and the code its audit event names. */
function refusal(error: unknown): { response: Response; code: string } {
  if (error instanceof HostBootstrapError) return { response: hostBootstrapErrorResponse(error), code: error.code };
  if (error instanceof BodyTooLargeError) {
    const description = `a bootstrap request is at most ${error.maxBytes} bytes`;
    return { response: httpErrorResponse("payload_too_large", description), code: "payload_too_large" };
  }
  return { response: internalErrorResponse("host bootstrap", error), code: "server_error" };
}

/** `{ "invite": "<JWT>", "proof": "<JWS>" }`, as application/json (RFC 8259), capped. */
async function readBootstrapRequest(request: Request): Promise<HostBootstrapRequest> {
  const type = (request.headers.get("Content-Type") ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json") {
    throw new HostBootstrapError("invalid_request", "the request body must be application/json");
  }
  let body: unknown;
  try {
    const bytes = await readBodyCapped(request, MAX_HOST_BOOTSTRAP_BYTES);
    body = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw error;
    throw new HostBootstrapError("invalid_request", "the request body is not UTF-8 JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new HostBootstrapError("invalid_request", "the request body must be a JSON object");
  }
  const { invite, proof } = body as Record<string, unknown>;
  if (typeof invite !== "string" || invite === "") throw new HostBootstrapError("invalid_request", "missing invite");
  if (typeof proof !== "string" || proof === "") throw new HostBootstrapError("invalid_request", "missing proof");
  return { invite, proof };
}
