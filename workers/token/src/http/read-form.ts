import { OAuthError } from "../../../../shared/errors/oauth.ts";

/** Largest token request body we read (RFC 6749 requests are small). */
const MAX_BODY_BYTES = 16 * 1024;

/**
 * Reads an application/x-www-form-urlencoded token request (RFC 6749 §3.2).
 * A parameter sent twice is refused (§3.2: "MUST NOT be included more than
 * once"), as is any other content type.
 */
export async function readTokenRequestForm(request: Request): Promise<Map<string, string>> {
  const type = (request.headers.get("Content-Type") ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") {
    throw new OAuthError("invalid_request", "the request body must be application/x-www-form-urlencoded");
  }
  const length = Number(request.headers.get("Content-Length") ?? "0");
  if (length > MAX_BODY_BYTES) throw new OAuthError("invalid_request", "request body too large");
  let form: FormData;
  try {
    form = await request.formData();
  } catch {
    throw new OAuthError("invalid_request", "the request body is not valid form data");
  }
  const params = new Map<string, string>();
  for (const [name, value] of form) {
    if (typeof value !== "string") throw new OAuthError("invalid_request", `parameter ${name} must be text`);
    if (params.has(name)) throw new OAuthError("invalid_request", `parameter ${name} is repeated`);
    params.set(name, value);
  }
  return params;
}

export function requireParam(params: Map<string, string>, name: string): string {
  const value = params.get(name);
  if (value === undefined || value === "") throw new OAuthError("invalid_request", `missing parameter ${name}`);
  return value;
}
