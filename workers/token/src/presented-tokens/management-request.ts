import { httpErrorResponse } from "../../../../shared/errors/http.ts";
import { toOAuthErrorResponse } from "../../../../shared/errors/oauth.ts";
import { BodyTooLargeError } from "../../../../shared/http/read-body.ts";
import type { AuthenticatedClient } from "../clients/types.ts";
import { tokenConfig } from "../config.ts";
import type { RequestSpends } from "../replay/request-spends.ts";
import {
  MANAGEMENT_ENDPOINT_FORM,
  MAX_TOKEN_REQUEST_BYTES,
  readTokenRequestForm,
  requireParam,
} from "../http/read-form.ts";
import { authenticateManagingClient } from "./managing-client.ts";
import { type PresentedToken, readPresentedToken } from "./read-presented-token.ts";

/** A revocation (RFC 7009 §2.1) or introspection (RFC 7662 §2.1) request once read. */
export interface ManagementRequest {
  /** The caller, authenticated (a public client is refused). */
  client: AuthenticatedClient;
  /** The `token` parameter, as we know it. `token_type_hint` is not read: both RFCs let us search every type. */
  presented: PresentedToken;
}

/**
 * What the revocation and introspection endpoints do first, in this order:
 * read the form (capped, shared/http/read-body.ts), authenticate the calling
 * client (presented-tokens/managing-client.ts), require `token` and read it
 * (presented-tokens/read-presented-token.ts). Throws OAuthError for the
 * caller's faults and BodyTooLargeError for a body over the cap; both are
 * answered by managementErrorResponse, after the endpoint settled `spends`.
 */
export async function readManagementRequest(
  request: Request,
  env: TokenEnv,
  spends: RequestSpends,
): Promise<ManagementRequest> {
  const params = await readTokenRequestForm(request, MANAGEMENT_ENDPOINT_FORM);
  const config = tokenConfig(env);
  const client = await authenticateManagingClient({ params, headers: request.headers }, { env, config, spends });
  const token = requireParam(params, "token");
  return { client, presented: await readPresentedToken(token, { env, config }) };
}

/**
 * The answer to a refused revocation or introspection request: a body over
 * the cap is 413 (shared/errors/http.ts, naming `what` was too large), any
 * other refusal the RFC 6749 §5.2 JSON error.
 */
export function managementErrorResponse(error: unknown, what: string): Response {
  if (error instanceof BodyTooLargeError) {
    return httpErrorResponse("payload_too_large", `${what} is at most ${MAX_TOKEN_REQUEST_BYTES} bytes`);
  }
  return toOAuthErrorResponse(error);
}
