import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";

/**
 * Better Auth's endpoints that put a session's raw token in their JSON (it
 * has no option to leave it out): the sign-in and sign-up answers and a
 * changed password's new session carry `token`, get-session and
 * update-session carry `session.token`, list-sessions carries `token` on
 * every session. A raw session token is the session itself, so no page
 * script (an XSS, an extension, a log line) may ever read one: the cookie is
 * HttpOnly, and these answers are rewritten without it. The one thing that
 * turns the session into an access token is POST /app/token, which reads
 * the cookie on the server (session-token/exchange.ts).
 */
export const SESSION_TOKEN_PATHS: ReadonlySet<string> = new Set(
  [
    "/sign-in/email",
    "/sign-in/social",
    "/sign-up/email",
    "/get-session",
    "/list-sessions",
    "/update-session",
    "/change-password",
    // The second factor's answers: the new (or stepped-up) session's `token`,
    // and a passkey sign-in's (or registration's) `session.token`.
    "/two-factor/verify-totp",
    "/two-factor/verify-backup-code",
    "/two-factor/verify-otp",
    "/passkey/verify-authentication",
    "/passkey/verify-registration",
  ].map((path) => `${ENDPOINT.authApi}${path}`),
);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function withoutToken(value: Json): Json {
  if (!value || typeof value !== "object" || Array.isArray(value)) return value;
  const { token: _token, ...rest } = value;
  return rest;
}

/** Removes `token` from the body, from its `session`, and from each item of a list. */
export function stripSessionTokens(body: Json): Json {
  if (Array.isArray(body)) return body.map(withoutToken);
  const top = withoutToken(body);
  if (top && typeof top === "object" && !Array.isArray(top) && top.session !== undefined) {
    return { ...top, session: withoutToken(top.session) };
  }
  return top;
}

export async function withoutSessionTokens(path: string, response: Response): Promise<Response> {
  if (!SESSION_TOKEN_PATHS.has(path)) return response;
  if (!/^application\/json/i.test(response.headers.get("Content-Type") ?? "")) return response;
  const body = (await response.json()) as Json;
  const headers = new Headers(response.headers);
  headers.delete("Content-Length");
  return new Response(JSON.stringify(stripSessionTokens(body)), {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}
