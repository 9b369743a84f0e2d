/**
 * The one issuer identifier, normalised once for every Worker. RFC 8414 §2:
 * an https URL (http only for local development) with no query or fragment;
 * the trailing slash is dropped so `iss` compares equal to the configured
 * value however it was written (`https://id.example.com/` and
 * `https://id.example.com` are one issuer).
 */
export function normaliseIssuer(value: string | undefined): string {
  let url: URL;
  try {
    url = new URL(value ?? "");
  } catch {
    throw new Error("ISSUER must be an absolute http(s) URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error("ISSUER must be an http(s) URL");
  if (url.search || url.hash || url.username || url.password) {
    throw new Error("ISSUER must not carry a query, fragment or credentials");
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * True for a plain-http loopback issuer: a developer's machine or a test,
 * never a public deployment (browsers and RFC 8414 both want https there).
 * Conveniences that would be unsafe in production are allowed only here.
 */
export function isLocalIssuer(issuer: string): boolean {
  const url = new URL(issuer);
  return url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname);
}
