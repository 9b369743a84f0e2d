import { GRANT_TYPE, TOKEN_TYPE } from "../../../../shared/contracts/tokens.ts";
import { OAuthError } from "../../../../shared/errors/oauth.ts";
import { requireParam } from "../http/read-form.ts";
import type { GrantContext, GrantHandler, GrantRequest, IssuedToken } from "./types.ts";

/** One accepted `subject_token_type` (RFC 8693 §3) and how a token of that type is exchanged. */
type SubjectTokenExchange = (request: GrantRequest, context: GrantContext) => Promise<IssuedToken>;

/**
 * The subject token types the public endpoint exchanges. A Better Auth
 * session (TOKEN_TYPE.session) is deliberately not one of them: a session
 * token that leaked to a page script or a log would otherwise mint tokens
 * for the session's whole lifetime. Sessions are exchanged only over the
 * RPC entrypoint (sessions/exchange-session.ts), by the authn Worker, from
 * the cookie it reads on the server.
 */
const SUBJECT_TOKEN_TYPES: ReadonlyMap<string, SubjectTokenExchange> = new Map();

/** RFC 8693 token exchange at the token endpoint (ENDPOINT.token). */
export const tokenExchangeGrant: GrantHandler = {
  grantType: GRANT_TYPE.tokenExchange,
  advertised: SUBJECT_TOKEN_TYPES.size > 0,
  async handle(request, context) {
    // §2.1: both are REQUIRED.
    requireParam(request.params, "subject_token");
    const type = requireParam(request.params, "subject_token_type");
    const exchange = SUBJECT_TOKEN_TYPES.get(type);
    // §2.2.2: a subject token that is "unacceptable based on policy" is
    // invalid_request.
    if (!exchange) {
      throw new OAuthError(
        "invalid_request",
        type === TOKEN_TYPE.session
          ? "a session is not exchanged at the token endpoint"
          : "unsupported subject_token_type",
      );
    }
    return exchange(request, context);
  },
};
