import { isHeaderSafeIdentifier } from "../../../../shared/contracts/headers.ts";
import { OutboundUrlError } from "../../../../shared/http/outbound-url.ts";
import { readStreamCapped } from "../../../../shared/http/read-body.ts";
import { logJson } from "../../../../shared/observability/log.ts";
import { assertFetchableUrl } from "../http/own-issuer.ts";
import { VaultError } from "./errors.ts";

/** How long a provider's token endpoint may take, and how much it may answer. */
export const TOKEN_ENDPOINT_TIMEOUT_MS = 5_000;
const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024;
/** Longest token we keep: far above any real one, below what could fill a row. */
const MAX_TOKEN_LENGTH = 16 * 1024;
/**
 * The longest access-token lifetime we believe (RFC 6749 §5.1 `expires_in`):
 * 90 days, above the long-lived tokens real providers issue (60 days), so a
 * larger value (`1e300`) is read as this. Past it the token is refreshed, or
 * refused once it cannot be, so a provider's grant is checked again at least
 * this often and never held as valid forever.
 */
export const MAX_UPSTREAM_TOKEN_LIFETIME_SECONDS = 90 * 24 * 3600;
/**
 * The lifetime given to an `expires_in` that is not a lifetime (negative,
 * fractional, a string, null): short, so such a token is refreshed soon
 * rather than trusted for a length of time the provider never said.
 */
export const INVALID_EXPIRES_IN_LIFETIME_SECONDS = 300;

/** How we authenticate at the provider (RFC 6749 §2.3.1): the client id, and its secret when it has one. */
export interface ProviderClient {
  tokenEndpoint: string;
  clientId: string;
  clientSecret: string | null;
}

/** An RFC 6749 §5.1 answer, checked. */
export interface UpstreamTokens {
  accessToken: string;
  tokenType: string;
  refreshToken: string | null;
  /** Absolute, in ms; null when the provider did not say. */
  expiresAt: number | null;
  scope: string | null;
}

/** RFC 6749 §2.3.1: the client id and secret form-urlencoded, then Basic. */
function basic(clientId: string, secret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, "+");
  return `Basic ${btoa(`${encode(clientId)}:${encode(secret)}`)}`;
}

/**
 * A form request to the provider as its OAuth client (the token endpoint,
 * RFC 7009's revocation endpoint, §2.1): `client_secret_basic` when we hold
 * a secret, else the public client's `client_id` in the body (RFC 6749 §3.2.1).
 */
export function clientAuthentication(
  client: ProviderClient,
  params: Record<string, string>,
): { headers: Record<string, string>; body: URLSearchParams } {
  const body = new URLSearchParams(params);
  const headers: Record<string, string> = {
    "Content-Type": "application/x-www-form-urlencoded",
    Accept: "application/json",
  };
  if (client.clientSecret) headers.Authorization = basic(client.clientId, client.clientSecret);
  else body.set("client_id", client.clientId);
  return { headers, body };
}

/**
 * One request to the provider's token endpoint as its OAuth client:
 * `client_secret_basic` when we hold a secret, else the public client's
 * `client_id` in the body (RFC 6749 §3.2.1). No redirects (the endpoint
 * configured is the one trusted), bounded in time and size, and never to an
 * internal host, whatever the stored row says (shared/http/outbound-url.ts):
 * this request carries the provider's client secret.
 */
export async function requestUpstreamTokens(
  client: ProviderClient,
  params: Record<string, string>,
): Promise<UpstreamTokens> {
  const { headers, body } = clientAuthentication(client, params);
  try {
    assertFetchableUrl(client.tokenEndpoint);
  } catch (error) {
    if (error instanceof OutboundUrlError) throw new VaultError("ERR_VAULT_UPSTREAM", "token endpoint refused");
    throw error;
  }
  let response: Response;
  try {
    response = await fetch(client.tokenEndpoint, {
      method: "POST",
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(TOKEN_ENDPOINT_TIMEOUT_MS),
    });
  } catch (error) {
    throw new VaultError(
      "ERR_VAULT_UPSTREAM",
      `token endpoint unreachable (${error instanceof Error ? error.name : "?"})`,
    );
  }
  let document: unknown;
  try {
    document = JSON.parse(new TextDecoder().decode(await readStreamCapped(response.body, MAX_TOKEN_RESPONSE_BYTES)));
  } catch {
    throw new VaultError("ERR_VAULT_UPSTREAM", `token endpoint answered ${response.status} without a JSON body`);
  }
  const fields = (typeof document === "object" && document !== null ? document : {}) as Record<string, unknown>;
  if (response.status !== 200) {
    // RFC 6749 §5.2 names the `error` member a code, but the provider writes it: it can carry anything
    // (an echoed key id, an internal host's banner). The caller sees the status only; the log keeps
    // the code when it looks like one (lowercase and `_`), never free text or the description.
    const code = typeof fields.error === "string" && /^[a-z_]{1,64}$/.test(fields.error) ? fields.error : null;
    logJson("warn", { event: "vault.upstream_refused", worker: "token", status: response.status, error: code });
    throw new VaultError("ERR_VAULT_UPSTREAM", `token endpoint answered ${response.status}`);
  }
  return tokensFrom(fields);
}

function tokensFrom(fields: Record<string, unknown>): UpstreamTokens {
  const accessToken = fields.access_token;
  const tokenType = fields.token_type;
  if (typeof accessToken !== "string" || accessToken === "" || accessToken.length > MAX_TOKEN_LENGTH)
    throw new VaultError("ERR_VAULT_UPSTREAM", "token response without a usable access_token");
  // The gateway sends this text as the upstream Authorization (RFC 6750 §2.1), so it must be an HTTP
  // field value as it stands (RFC 9110 §5.5; RFC 6749 Appendix A.12 allows visible characters only):
  // with CR, LF or NUL the gateway refuses it at every use (502 ERR_SAVED_TOKEN_UNUSABLE), and edge
  // whitespace would be trimmed into another token. Refused as it arrives, so such a token is never
  // saved nor audited as issued; the message names the fault, never the token.
  if (!isHeaderSafeIdentifier(accessToken))
    throw new VaultError("ERR_VAULT_UPSTREAM", "token response's access_token is no header field value");
  // RFC 6749 §7.1: we can only put a bearer token on a request (RFC 6750 §2.1).
  if (typeof tokenType !== "string" || tokenType.toLowerCase() !== "bearer")
    throw new VaultError("ERR_VAULT_UPSTREAM", "token response's token_type is not Bearer");
  const refresh = fields.refresh_token;
  if (refresh !== undefined && (typeof refresh !== "string" || refresh === "" || refresh.length > MAX_TOKEN_LENGTH))
    throw new VaultError("ERR_VAULT_UPSTREAM", "token response with an unusable refresh_token");
  // Only ever form-encoded back to the provider, so a control character does no harm there, but it is
  // no refresh token (RFC 6749 Appendix A.17: 1*VSCHAR, %x20-7E): an answer carrying one is broken or
  // forged, and it is refused whole, as a bad access_token is, rather than a grant saved on it.
  if (typeof refresh === "string" && !isUsableRefreshToken(refresh))
    throw new VaultError("ERR_VAULT_UPSTREAM", "token response's refresh_token has a control character");
  const lifetime = lifetimeSeconds(fields.expires_in);
  return {
    accessToken,
    tokenType: "Bearer",
    refreshToken: typeof refresh === "string" ? refresh : null,
    expiresAt: lifetime === null ? null : Date.now() + lifetime * 1000,
    scope: typeof fields.scope === "string" ? fields.scope.slice(0, 2048) : null,
  };
}

/**
 * RFC 6749 Appendix A.17: a refresh token is `1*VSCHAR`, which no C0
 * control character nor DEL is. Refused as the provider answers
 * (tokensFrom), and at a refresh for a row saved before that check
 * (refresh.ts), whose owner then reconnects.
 */
export function isUsableRefreshToken(token: string): boolean {
  return !/[\x00-\x1f\x7f]/.test(token);
}

/**
 * RFC 6749 §5.1 `expires_in`, whose syntax is `1*DIGIT` (Appendix A.14): a
 * whole number of seconds. Absent, the provider did not say (null: no
 * expiry, §5.1 leaves it to the provider's documentation). A number of
 * seconds past the cap is the cap; anything else present is not a lifetime
 * and gets the short one: neither may become "no expiry" (a `1e300` once
 * overflowed the Date and was stored as none).
 */
function lifetimeSeconds(expiresIn: unknown): number | null {
  if (expiresIn === undefined) return null;
  if (typeof expiresIn === "number" && Number.isInteger(expiresIn) && expiresIn >= 0)
    return Math.min(expiresIn, MAX_UPSTREAM_TOKEN_LIFETIME_SECONDS);
  logJson("warn", { event: "vault.upstream_expires_in_invalid", worker: "token", type: typeof expiresIn });
  return INVALID_EXPIRES_IN_LIFETIME_SECONDS;
}
