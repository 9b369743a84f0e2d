/**
 * Better Auth answers most of its API without a `Cache-Control`: a
 * person's sessions (with their addresses and browsers), API keys,
 * organizations and members, and the passkey challenges that set a cookie.
 * Without one a browser may keep such an answer in its disk cache, where
 * the next user of a shared machine reads it (ASVS 5.0 V14.3.2: sensitive
 * data with `Cache-Control: no-store`; RFC 9111 §5.2.2.5). So an answer to
 * a request that carried a credential (a cookie or an Authorization
 * header), or that sets a cookie, and states no caching of its own is
 * `no-store`. One that states its own (get-session's) is left as it is.
 */
export function noStoreWhenPersonal(request: Request, response: Response): Response {
  if (response.headers.has("Cache-Control")) return response;
  const personal =
    request.headers.has("Cookie") || request.headers.has("Authorization") || response.headers.getSetCookie().length > 0;
  if (!personal) return response;
  const headers = new Headers(response.headers);
  headers.set("Cache-Control", "no-store");
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
