import { canonicalHeaderName, REQUEST_ID_HEADER } from "../../../../shared/contracts/headers.ts";

/** The request id's name in canonical form (any case, `_` for `-`), for stripping every spelling. */
export const REQUEST_ID_CANONICAL = canonicalHeaderName(REQUEST_ID_HEADER);

/**
 * The gateway's own id for a request. It reaches a Worker or downstream only
 * in the headers the gateway forwards, which are built afresh: an inbound
 * one, in any spelling (`x_request_id` too), is dropped there with the other
 * headers only the gateway sets (forward/strip-untrusted-headers.ts) and this
 * one set in its place (setRequestId), so a caller can neither choose the id
 * its request is logged under nor smuggle one to a Worker. The inbound
 * request itself is not copied: nothing reads the caller's id from it.
 */
export function newRequestId(): string {
  return crypto.randomUUID();
}

/** On headers already stripped of any inbound request id (strip-untrusted-headers.ts). */
export function setRequestId(headers: Headers, id: string): void {
  headers.set(REQUEST_ID_HEADER, id);
}

/**
 * The answer, naming the request id (so a caller can quote it); an upgrade
 * (WebSocket) is passed as it is. A response the gateway built has mutable
 * headers and is tagged in place; one passed through as fetched (a public
 * route's) has immutable headers and is copied.
 */
export function tagResponse(response: Response, id: string): Response {
  if (response.status === 101 || response.webSocket) return response;
  try {
    response.headers.set(REQUEST_ID_HEADER, id);
    return response;
  } catch {
    // TypeError: immutable headers.
  }
  return tagFetched(response, id);
}

/**
 * A response as fetched from a Worker (a public route's) has immutable
 * headers: copy it once, tagged, instead of letting tagResponse find that out
 * by a thrown TypeError on every token and login request — a throw V8 builds
 * a stack trace for, a large share of the gateway's samples in a profile of
 * the tokens bench.
 */
export function tagFetched(response: Response, id: string): Response {
  if (response.status === 101 || response.webSocket) return response;
  const tagged = new Response(response.body, response);
  tagged.headers.set(REQUEST_ID_HEADER, id);
  return tagged;
}
