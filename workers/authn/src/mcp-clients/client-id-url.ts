import { isForbiddenHost } from "../../../../shared/http/outbound-url.ts";
import { CIMD_ERROR, CimdError } from "./errors.ts";

const MAX_CLIENT_ID_LENGTH = 2048;

/** Whether a client_id names a metadata document (else it is a registered client's id). */
export function isMetadataDocumentClientId(clientId: string): boolean {
  return clientId.startsWith("https://");
}

/**
 * draft-ietf-oauth-client-id-metadata-document §3: the client_id is an https
 * URL with a path component, no fragment, no credentials, no `.`/`..` path
 * segments. The URL must also be exactly as parsed (no normalisation hides a
 * second spelling of the same client), and its host must be a public address
 * (§6.5; shared/http/outbound-url.ts isForbiddenHost).
 */
export function parseClientIdUrl(clientId: string): URL {
  const refuse = (why: string): never => {
    throw new CimdError(CIMD_ERROR.invalidClientId, why);
  };
  if (clientId.length > MAX_CLIENT_ID_LENGTH) refuse("client_id is too long");
  let url: URL | undefined;
  try {
    url = new URL(clientId);
  } catch {
    refuse("client_id is not a URL");
  }
  if (!url) return refuse("client_id is not a URL");
  if (url.protocol !== "https:") refuse("client_id must be an https URL");
  // Before the normal-form check: `0x7f.1` is loopback, whatever else is wrong with it.
  if (isForbiddenHost(url.hostname)) {
    throw new CimdError(CIMD_ERROR.forbiddenAddress, "client_id names a non-public address");
  }
  if (url.username || url.password) refuse("client_id must not carry credentials");
  if (clientId.includes("#")) refuse("client_id must not carry a fragment");
  if (url.pathname === "/" || url.pathname === "") refuse("client_id must have a path");
  if (/\/\.{1,2}(\/|$)/.test(pathOf(clientId))) refuse("client_id must not contain dot segments");
  if (url.href !== clientId) refuse("client_id must be in its normal form");
  return url;
}

/** The raw path of a URL string, before the parser resolves dot segments away. */
function pathOf(raw: string): string {
  const afterScheme = raw.slice(raw.indexOf("//") + 2);
  const slash = afterScheme.indexOf("/");
  if (slash < 0) return "";
  return afterScheme.slice(slash).split(/[?#]/)[0] ?? "";
}
