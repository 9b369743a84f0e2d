import type { MiddlewareHandler } from "hono";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { httpErrorResponse } from "../../../../shared/errors/http.ts";
import { SCIM_CONTENT_TYPE, ScimError, scimErrorResponse } from "../../../../shared/errors/scim.ts";
import { illFormedFormParameter } from "../../../../shared/http/form-encoding.ts";
import { illFormedStringPath } from "../../../../shared/http/read-json.ts";
import { isScimPath } from "./capped-body.ts";

// A leading BOM is dropped, as Request.json() and formData() drop it (WHATWG Encoding "UTF-8 decode"):
// kept, it made JSON.parse fail here while the reader behind parsed the body fine, unchecked.
const FATAL = new TextDecoder("utf-8", { fatal: true });

/** Why a body cannot be read as the text it claims to be, or null; with the SCIM type that says so. */
export function illFormedBody(
  type: string,
  bytes: Uint8Array<ArrayBuffer>,
): { reason: string; scimType: "invalidSyntax" | "invalidValue" } | null {
  const form = type === "application/x-www-form-urlencoded";
  // The pages read forms with Request.formData(), which takes multipart too
  // and decodes a part's bytes that are not UTF-8 as U+FFFD. None of our
  // forms carries a file, so the whole body is text, and UTF-8 (RFC 7578 §5.1.2).
  const multipart = type === "multipart/form-data";
  if (!form && !multipart && type !== "application/json" && type !== SCIM_CONTENT_TYPE) return null;
  let text: string;
  try {
    text = FATAL.decode(bytes);
  } catch {
    return { reason: "the body is not UTF-8", scimType: "invalidSyntax" };
  }
  if (multipart) return null;
  if (form) {
    const name = illFormedFormParameter(text);
    return name === null
      ? null
      : { reason: `parameter ${name} is not UTF-8 once percent-decoded`, scimType: "invalidSyntax" };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Not JSON at all: each reader refuses that in its own words.
    return null;
  }
  const path = illFormedStringPath(value);
  return path === null
    ? null
    : { reason: `${path}: not well-formed Unicode (an unpaired surrogate, RFC 8259 §8.2)`, scimType: "invalidValue" };
}

/**
 * Every form and JSON body the authn Worker reads (pages, console, Better
 * Auth's API, SCIM) is UTF-8 text, once percent-decoded, with well-formed
 * strings. The WHATWG form parser reads `%ff` or `%ED%A0%80` as U+FFFD, and
 * D1 stores an unpaired surrogate escape (`"\ud800"`) as U+FFFD too: a name
 * signed up, or a directory's displayName, would be kept as something else
 * than what was sent. Refused here, once, after the cap (http/capped-body.ts)
 * read the bytes: `400 invalid_body`, in SCIM's format on SCIM's paths
 * (RFC 7644 §3.12). The session exchange answers RFC 6749 errors itself.
 */
export const refuseIllFormedBody: MiddlewareHandler<{
  Bindings: AuthnEnv;
  Variables: { body: Uint8Array<ArrayBuffer> };
}> = async (c, next) => {
  const bytes = c.var.body;
  const pathname = new URL(c.req.url).pathname;
  if (bytes.byteLength === 0 || pathname === ENDPOINT.sessionToken) return next();
  const type = (c.req.header("Content-Type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  const refusal = illFormedBody(type, bytes);
  if (refusal === null) return next();
  return isScimPath(pathname)
    ? scimErrorResponse(new ScimError(refusal.scimType, refusal.reason))
    : httpErrorResponse("invalid_body", refusal.reason);
};
