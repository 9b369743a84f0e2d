import { HttpError } from "../../../../shared/errors/http.ts";
import { isForbiddenHost } from "../../../../shared/http/outbound-url.ts";

const MAX_URL_LENGTH = 1024;

/**
 * A URL a Worker of ours will send requests to on an operator's word (an
 * MCP server's upstream, an org's webhook): https, no credentials, query or
 * fragment, and not a host the shared outbound guard refuses (loopback,
 * private, link-local, metadata or local names, in any spelling:
 * shared/http/outbound-url.ts) — an operator's typo must not point the
 * identity origin at its own network. No loopback allowance even on a local
 * issuer: the tests reach these through service bindings. Answers the URL
 * without a trailing slash; 400 `invalid_body` naming the field otherwise.
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
  if (isForbiddenHost(url.hostname)) invalid("must not be a loopback, private, link-local or internal host");
  return url.href.replace(/\/$/, "");
}
