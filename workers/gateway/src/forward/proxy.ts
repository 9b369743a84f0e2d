/**
 * Sends a request on to a Worker behind the gateway over its service binding,
 * with headers the gateway has already sanitised. The URL keeps the public
 * path and query so the downstream sees what the client asked for.
 */
export function proxy(upstream: Fetcher, request: Request, headers: Headers): Promise<Response> {
  const hasBody = request.method !== "GET" && request.method !== "HEAD";
  return upstream.fetch(request.url, {
    method: request.method,
    headers,
    body: hasBody ? request.body : null,
    redirect: "manual",
  });
}
