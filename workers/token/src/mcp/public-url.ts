import { HttpError } from "../../../../shared/errors/http.ts";

const MAX_URL_LENGTH = 1024;

/**
 * A URL a Worker of ours will send requests to on an operator's word (an
 * MCP server's upstream, an org's webhook): https, no credentials, query or
 * fragment, and not a loopback, private or link-local address written as a
 * literal — an operator's typo must not point the identity origin at its own
 * network. Answers the URL without a trailing slash; 400 `invalid_body`
 * naming the field otherwise.
 */
export function publicHttpsUrl(field: string, value: string): string {
  const invalid = (problem: string): never => {
    throw new HttpError("invalid_body", `${field}: ${problem}`);
  };
  if (value.length > MAX_URL_LENGTH) invalid(`at most ${MAX_URL_LENGTH} characters`);
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    invalid("not a URL");
  }
  if (!url) return invalid("not a URL");
  if (url.protocol !== "https:") invalid("must be https");
  if (url.username || url.password || url.search || url.hash) invalid("no credentials, query or fragment");
  if (isPrivateHost(url.hostname)) invalid("must not be a loopback, private or link-local address");
  return url.href.replace(/\/$/, "");
}

function isPrivateHost(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[|\]$/g, "");
  if (name === "localhost" || name.endsWith(".localhost") || name.endsWith(".internal")) return true;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(name);
  if (v4) {
    const a = Number(v4[1]);
    const b = Number(v4[2]);
    return (
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 100 && b >= 64 && b <= 127)
    );
  }
  // IPv6 literals: unspecified, loopback, unique local (fc00::/7), link-local (fe80::/10), IPv4-mapped.
  if (name.includes(":")) {
    return (
      name === "::" || name === "::1" || /^f[cd]/.test(name) || /^fe[89ab]/.test(name) || name.startsWith("::ffff:")
    );
  }
  return false;
}
