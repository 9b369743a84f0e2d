import { canonicalHeaderName, REQUEST_ID_HEADER } from "../../../../shared/contracts/headers.ts";

const CANONICAL = canonicalHeaderName(REQUEST_ID_HEADER);

/**
 * The request with the gateway's own request id: any inbound one, in any
 * spelling (`x_request_id` too), is dropped first, so a caller can neither
 * choose the id its request is logged under nor smuggle one to a Worker.
 */
export function withRequestId(request: Request): { request: Request; id: string } {
  const id = crypto.randomUUID();
  const headers = new Headers(request.headers);
  for (const name of [...headers.keys()]) if (canonicalHeaderName(name) === CANONICAL) headers.delete(name);
  headers.set(REQUEST_ID_HEADER, id);
  return { request: new Request(request, { headers }), id };
}

/** The answer, naming the request id (so a caller can quote it); an upgrade (WebSocket) is passed as it is. */
export function tagResponse(response: Response, id: string): Response {
  if (response.status === 101 || response.webSocket) return response;
  const tagged = new Response(response.body, response);
  tagged.headers.set(REQUEST_ID_HEADER, id);
  return tagged;
}
