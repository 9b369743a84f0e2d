/**
 * Sends a request on to its upstream with headers the gateway has already
 * sanitised, to the URL the gateway decided on (upstream.ts). The body is the
 * request's own stream, or the bytes the gateway already read to decide on it.
 */
export function proxy(
  upstream: Fetcher,
  target: string,
  request: Request,
  headers: Headers,
  body?: Uint8Array,
): Promise<Response> {
  const hasBody = request.method !== "GET" && request.method !== "HEAD";
  return upstream.fetch(target, {
    method: request.method,
    headers,
    body: hasBody ? (body ?? request.body) : null,
    redirect: "manual",
  });
}
