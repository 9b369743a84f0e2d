import { httpErrorResponse } from "../../../../shared/errors/http.ts";
import { forwardMaxForwards } from "./method-gate.ts";

/**
 * Sends a request on to its upstream with headers the gateway has already
 * sanitised, to the URL the gateway decided on (upstream.ts). The body is the
 * request's own stream, or the bytes the gateway already read to decide on it.
 *
 * `Host` is the target's, never the caller's (RFC 9112 §3.2.2: a proxy
 * generates it from the target it forwards to): the gateway routed on the
 * URL, and a caller's `Host: evil.example` would otherwise reach a service
 * binding as sent (workerd passes it through), where a downstream building
 * absolute URLs from it (links, redirects, `resource` identifiers) takes it
 * for the public origin; an https upstream is sent its own host.
 */
export async function proxy(
  upstream: Fetcher,
  target: string,
  request: Request,
  headers: Headers,
  body?: Uint8Array,
  /** The request's method, when the caller has already read it (a getter into the runtime on each read). */
  method: string = request.method,
): Promise<Response> {
  const hasBody = method !== "GET" && method !== "HEAD";
  const sent = hasBody ? (body ?? request.body) : null;
  headers.set("Host", new URL(target).host);
  // Framing is this hop's (RFC 9112 §6.3): with no body sent, no length is
  // claimed. A caller's `Content-Length` on a GET otherwise reached the
  // Worker as a request with a body stream and a method that cannot have
  // one, and the authn Worker's body reader failed on it with a 500.
  if (sent === null) headers.delete("Content-Length");
  // RFC 9110 §7.6.2: an OPTIONS goes on with its Max-Forwards one lower (method-gate.ts; TRACE never
  // gets here). Any other method's is passed as it came, which §7.6.2 allows ("MAY ignore").
  if (method === "OPTIONS") forwardMaxForwards(headers);
  try {
    return await upstream.fetch(target, {
      method,
      headers,
      body: sent,
      redirect: "manual",
    });
  } catch (error) {
    // RFC 9110 §15.6.3: no answer from the upstream (a registered MCP server
    // down or unresolvable, a binding that threw) is a bad gateway, not the
    // gateway's own 500: callers and alerts tell the two apart. The cause is
    // logged, never answered (it may name an internal host).
    console.error("upstream unreachable", new URL(target).host, String(error));
    return httpErrorResponse("upstream_unreachable", "the service behind this path did not answer; retry later");
  }
}
