import { SUBSCRIBER_CREDENTIAL_HEADER, type SubscriberCredential } from "../../../../shared/contracts/revocation.ts";
import { orgStateName } from "../../../../shared/contracts/storage-keys.ts";
import { HttpError } from "../../../../shared/errors/http.ts";

/**
 * Hands a subscriber's request (a WebSocket upgrade, or `Accept:
 * text/event-stream`) to the org's Durable Object, which serves the stream
 * itself (workers/org-state/src/revocation-subscribers.ts): the upgrade goes
 * through `stub.fetch` untouched, so the socket ends at the object and can
 * hibernate there. Only `after` is passed on; the caller's credentials are
 * not: the object is told only what the subscription lives on (`credential`,
 * the token's claims and `exp`, or a console session's), so it ends the
 * subscription when that does (workers/org-state/src/revocation-subscribers.ts).
 */
export async function forwardRevocationStream(
  env: TokenEnv,
  orgId: string,
  request: Request,
  credential: SubscriberCredential,
): Promise<Response> {
  const after = new URL(request.url).searchParams.get("after");
  const target = new URL("https://org-state/revocations/stream");
  if (after !== null) target.searchParams.set("after", after);
  const headers = new Headers({ [SUBSCRIBER_CREDENTIAL_HEADER]: JSON.stringify(credential) });
  for (const name of ["upgrade", "connection", "accept", "last-event-id"]) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  for (const name of ["sec-websocket-key", "sec-websocket-version", "sec-websocket-protocol"]) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  try {
    return await env.ORG_STATE.getByName(orgStateName(orgId)).fetch(target, { headers });
  } catch (error) {
    console.error("revocation stream not opened", orgId, error);
    throw new HttpError("temporarily_unavailable", "the revocation stream could not be opened; retry");
  }
}
