/**
 * CSRF defence for our own form posts (Better Auth checks its own API): a
 * state-changing request must come from the issuer's origin. Browsers send
 * `Origin` on every cross-origin POST and on same-origin ones too (RFC 6454
 * §7.3; Fetch "append a request Origin header"); a request without it, or
 * with `null`, is not from a page of ours.
 */
export function isSameOriginPost(request: Request, issuer: string): boolean {
  const origin = request.headers.get("Origin");
  return origin !== null && origin === new URL(issuer).origin;
}
