/**
 * Demo only: answers with the request exactly as it arrived from the
 * gateway (method, URL, every header), so tests and operators can see what
 * crosses the trust boundary. Each `respond_header=Name: value` query
 * parameter adds that header to the answer, so tests can check what the
 * gateway lets back from a downstream (Set-Cookie, an HTML content type, …).
 */
export function echo(request: Request, url: URL): Response {
  const response = Response.json({
    method: request.method,
    url: request.url,
    headers: [...request.headers],
  });
  for (const spec of url.searchParams.getAll("respond_header")) {
    const colon = spec.indexOf(":");
    if (colon <= 0) continue;
    const name = spec.slice(0, colon).trim();
    const value = spec.slice(colon + 1).trim();
    if (name.toLowerCase() === "content-type") response.headers.set(name, value);
    else response.headers.append(name, value);
  }
  return response;
}
