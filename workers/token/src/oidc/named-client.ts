import { assertedClient } from "../../../../shared/http/asserted-client.ts";
import { strictBasicCredentials } from "../../../../shared/http/basic-credentials.ts";

/**
 * RFC 6749 §2.3.1: the client a request names, by HTTP Basic (form-encoded
 * id) or by `client_id`; only to route it, never to authenticate it (revocation
 * and introspection, oidc/browser-introspection.ts). Introspection also
 * answers for this client only, so it must be the one Better Auth
 * authenticates: with an Authorization header Better Auth reads the client
 * from it and ignores the form's `client_id`, and its base64 reader is
 * lenient (it stops at the first `=`, takes the base64url alphabet too).
 * So with any Authorization header the client is the one named by strict
 * Basic credentials or none (the machine path then refuses the request),
 * never the form's: `Basic <ours>=.` beside another client's `client_id`
 * was answered as that client. Without either, a `private_key_jwt`
 * assertion names it (RFC 7521 §4.2: `client_id` is optional beside one),
 * read as Better Auth reads it: a refresh token reused, or a code replayed,
 * by such a client with no `client_id` named no client here, so the grant's
 * access tokens Better Auth's teardown left were cut off only by the cron's
 * later pass (code) or never (refresh).
 */
export function namedClient(params: ReadonlyMap<string, string>, headers: Headers): string | undefined {
  const authorization = headers.get("Authorization");
  // An empty header is none, as Better Auth reads it (a public client's replay then still names its client).
  if (!authorization) {
    return (
      params.get("client_id") || assertedClient(params.get("client_assertion_type"), params.get("client_assertion"))
    );
  }
  return strictBasicCredentials(authorization)?.clientId;
}
