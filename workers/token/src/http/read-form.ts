import { illFormedFormParameter } from "../../../../shared/http/form-encoding.ts";
import { readBodyCapped } from "../../../../shared/http/read-body.ts";
import { OAuthError } from "../../../../shared/errors/oauth.ts";

/**
 * Largest token request body read, in bytes. RFC 6749 requests are small;
 * the largest we expect (a client assertion and a subject token, RFC 7523 /
 * RFC 8693) is a few KiB.
 */
export const MAX_TOKEN_REQUEST_BYTES = 16 * 1024;

/**
 * The parameters that name the token's target: RFC 8707 §2 `resource` and
 * RFC 8693 §2.1 `audience`, which those RFCs let a client send several
 * times. Every token here has one audience, so several targets are a
 * target we cannot issue for, `invalid_target` (RFC 8707 §2), not the
 * malformed request RFC 6749 §3.2's "MUST NOT be included more than once"
 * makes of any other repeated parameter.
 */
const TARGET_PARAMETERS: ReadonlySet<string> = new Set(["resource", "audience"]);

export interface TokenRequestFormOptions {
  /**
   * Whether the endpoint reads TARGET_PARAMETERS: the token endpoint does;
   * revocation (RFC 7009) and introspection (RFC 7662) do not, so there a
   * repeat of one is as malformed as any other.
   */
  targets: boolean;
}

export const TOKEN_ENDPOINT_FORM: TokenRequestFormOptions = { targets: true };
export const MANAGEMENT_ENDPOINT_FORM: TokenRequestFormOptions = { targets: false };

/**
 * Reads an application/x-www-form-urlencoded token request (RFC 6749 §3.2).
 * The body is read with a byte cap that holds without Content-Length
 * (shared/http/read-body.ts throws BodyTooLargeError, answered with 413),
 * decoded here as UTF-8, its percent-escapes too (shared/http/form-encoding.ts),
 * and parsed with URLSearchParams: workerd's own form parser
 * logs a warning per request, which costs more than the rest of a mint.
 * A parameter sent without a value is left out, as if it was not sent
 * (§3.1). A parameter sent twice is refused (§3.2: "MUST NOT be included more than
 * once"), as is any other content type; a repeated target is refused as
 * `invalid_target` instead (TARGET_PARAMETERS).
 */
export async function readTokenRequestForm(
  request: Request,
  options: TokenRequestFormOptions = TOKEN_ENDPOINT_FORM,
): Promise<Map<string, string>> {
  const type = (request.headers.get("Content-Type") ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") {
    throw new OAuthError("invalid_request", "the request body must be application/x-www-form-urlencoded");
  }
  const bytes = await readBodyCapped(request, MAX_TOKEN_REQUEST_BYTES);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new OAuthError("invalid_request", "the request body is not UTF-8");
  }
  // URLSearchParams would read `%ff` or `%ED%A0%80` as U+FFFD: refused, as a raw byte that is not UTF-8 is.
  const illFormed = illFormedFormParameter(text);
  if (illFormed !== null) {
    throw new OAuthError("invalid_request", `${parameterName(illFormed)} is not UTF-8 once percent-decoded`);
  }
  const params = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(text)) {
    // §3.1 and §3.2: "Parameters sent without a value MUST be treated as if
    // they were omitted from the request." Kept, an empty `client_secret=`
    // or `client_assertion_type=` beside HTTP Basic counted as a second
    // authentication method, and an empty `client_id=` as another client.
    if (value === "") continue;
    if (params.has(name)) {
      if (options.targets && TARGET_PARAMETERS.has(name)) {
        throw new OAuthError("invalid_target", `one ${name} only: a token is issued for one target`);
      }
      throw new OAuthError("invalid_request", `${parameterName(name)} is repeated`);
    }
    params.set(name, value);
  }
  return params;
}

/** A parameter as an error names it: `=a&=b` has one with an empty name, which would read as two spaces. */
function parameterName(name: string): string {
  return name === "" ? "a parameter with an empty name" : `parameter ${describedValue(name)}`;
}

/** Longest part of a client's input an error description repeats. */
const MAX_DESCRIBED_LENGTH = 64;

/**
 * A client's input as an error description may repeat it: RFC 6749 §5.2
 * allows only %x20-21 / %x23-5B / %x5D-7E there, so any other character (a
 * quote, a backslash, a line break, a bidi override, anything not ASCII) is
 * shown as `?`, and at most `maxLength` (MAX_DESCRIBED_LENGTH) characters of it.
 */
export function describedValue(value: string, maxLength: number = MAX_DESCRIBED_LENGTH): string {
  const shown = [...value].map((c) => (/^[\x20-\x21\x23-\x5B\x5D-\x7E]$/.test(c) ? c : "?")).join("");
  return shown.length > maxLength ? `${shown.slice(0, maxLength)}...` : shown;
}

/** RFC 6749 §5.2: a missing required parameter is invalid_request. */
export function requireParam(params: ReadonlyMap<string, string>, name: string): string {
  const value = params.get(name);
  if (value === undefined || value === "") throw new OAuthError("invalid_request", `missing parameter ${name}`);
  return value;
}
