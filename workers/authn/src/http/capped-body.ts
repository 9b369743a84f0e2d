import type { MiddlewareHandler } from "hono";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { httpErrorResponse } from "../../../../shared/errors/http.ts";
import { ScimError, scimErrorResponse } from "../../../../shared/errors/scim.ts";
import { BodyTooLargeError, readBodyCapped } from "../../../../shared/http/read-body.ts";
import { authnConfig } from "../config.ts";

const EMPTY = new Uint8Array(0);

/** The SCIM endpoints (ENDPOINT.scim and below), whose errors are RFC 7644's. */
export function isScimPath(pathname: string): boolean {
  return pathname === ENDPOINT.scim || pathname.startsWith(`${ENDPOINT.scim}/`);
}

/**
 * Every request body the authn Worker handles — the pages' forms and Better
 * Auth's API alike — is read here, once, under config.maxRequestBodyBytes,
 * whether or not it declares a Content-Length (a chunked body has none and a
 * declared length can lie): `413 payload_too_large` past the cap, before
 * any parser or Better Auth sees a byte (on SCIM's paths, in SCIM's error
 * format). The request is then re-created from
 * the bytes read, for the handlers and Better Auth, and the bytes are kept
 * as `c.var.body` for the checks that need them (limits/attempted-email.ts).
 * A GET or HEAD goes on without a body, whatever framing it claimed.
 */
export const capRequestBody: MiddlewareHandler<{
  Bindings: AuthnEnv;
  Variables: { body: Uint8Array<ArrayBuffer> };
}> = async (c, next) => {
  const request = c.req.raw;
  if (request.body === null) {
    c.set("body", EMPTY);
    return next();
  }
  if (request.method === "GET" || request.method === "HEAD") {
    // RFC 9110 §9.3.1, §9.3.2: content in a GET or HEAD has no defined meaning, and no route here
    // reads any, so it is left unread. The request is re-created without it: a GET or HEAD with a
    // body (a caller's `Content-Length` on a GET is one, as workerd hands it over) cannot be
    // re-created with its bytes, which threw a 500 for the caller's mistake.
    c.req.raw = new Request(request.url, {
      method: request.method,
      headers: withoutFraming(request.headers),
      redirect: request.redirect,
    });
    c.set("body", EMPTY);
    return next();
  }
  const maxBytes = authnConfig(c.env).maxRequestBodyBytes;
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = await readBodyCapped(request, maxBytes);
  } catch (error) {
    if (error instanceof BodyTooLargeError) {
      const description = `request body larger than ${maxBytes} bytes`;
      // RFC 7644 §3.12: a directory reads SCIM's error format, whichever layer refuses.
      return isScimPath(new URL(request.url).pathname)
        ? scimErrorResponse(new ScimError("payload_too_large", description))
        : httpErrorResponse("payload_too_large", description);
    }
    throw error;
  }
  // The body is now a fixed buffer: its length is what was read, not what was claimed.
  const headers = withoutFraming(request.headers);
  c.req.raw = new Request(request.url, { method: request.method, headers, body: bytes, redirect: request.redirect });
  c.set("body", bytes);
  return next();
};

/** The request's headers less the framing of the body it arrived with (RFC 9112 §6: each hop's own). */
function withoutFraming(original: Headers): Headers {
  const headers = new Headers(original);
  headers.delete("Content-Length");
  headers.delete("Transfer-Encoding");
  return headers;
}
