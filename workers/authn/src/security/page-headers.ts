import type { MiddlewareHandler } from "hono";

/**
 * Security headers for the server-rendered pages. Scripts and styles run
 * only with this response's nonce (CSP Level 3); the pages cannot be framed
 * (clickjacking on a login form) and send no Referer to other sites.
 */
export const pageSecurityHeaders: MiddlewareHandler<{ Variables: { nonce: string } }> = async (c, next) => {
  const nonce = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  c.set("nonce", nonce);
  await next();
  c.header(
    "Content-Security-Policy",
    [
      "default-src 'none'",
      `script-src 'nonce-${nonce}'`,
      `style-src 'nonce-${nonce}'`,
      "connect-src 'self'",
      "img-src 'self'",
      "form-action 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ].join("; "),
  );
  c.header("X-Frame-Options", "DENY");
  c.header("X-Content-Type-Options", "nosniff");
  // Not `no-referrer`: under it the Fetch standard ("serializing a request
  // origin") makes a browser send `Origin: null` on our own form posts
  // (Chromium does), and the same-origin CSRF check needs the real origin.
  // `same-origin` still sends nothing to any other site.
  c.header("Referrer-Policy", "same-origin");
  c.header("Cache-Control", "no-store");
};
