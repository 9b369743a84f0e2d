import { httpErrorResponse } from "../../../../shared/errors/http.ts";
import { METHODS, methodNotAllowed } from "../../../../shared/http/unsupported-methods.ts";

/**
 * The methods the gateway ever forwards, and passes on to a public route:
 * those our Workers answer on every path (served there, or their own 405
 * naming what is). Anything else is answered here and never forwarded:
 * - TRACE (RFC 9110 §9.3.8) has its final recipient reflect the request it
 *   received, headers included: through a public route, which keeps the
 *   caller's cookies and `Authorization`, that is cross-site tracing — the
 *   caller's credentials read back from an answer;
 * - CONNECT (§9.3.6) asks for a tunnel, which no route is (workerd hands a
 *   Worker's fetch handler no CONNECT, nor a method it does not know: this
 *   holds whatever the runtime becomes);
 * - any other method (WebDAV's PROPFIND, …) no Worker behind the gateway serves.
 * A protected route takes only the methods its table entry names
 * (protect.ts), and the table holds no method outside this list
 * (routing/match-route.ts).
 */
export const FORWARDABLE_METHODS: readonly string[] = METHODS;

/**
 * `Allow` of a public route's own 405 and OPTIONS answers: what the gateway
 * passes on there (RFC 9110 §10.2.1; the Worker behind it names, in its own
 * 405, the subset its path takes).
 */
export const PUBLIC_ROUTE_ALLOW = FORWARDABLE_METHODS.join(", ");

/**
 * RFC 9110 §7.6.2: the forwarded Max-Forwards is the lesser of the received
 * value less one and "the recipient's maximum supported value": ours, far
 * above any real chain of proxies, so only absurd values (past 2^31) meet it.
 */
export const MAX_FORWARDS_SUPPORTED = 2_147_483_647;

/**
 * What the gateway answers itself on a public route for a method other
 * than GET and POST (index.ts asks only then): a 405 for a method it never
 * forwards (FORWARDABLE_METHODS), or an OPTIONS it is the final recipient
 * of (optionsAsFinalRecipient). Undefined: forward it.
 */
export function publicRouteMethodAnswer(method: string, headers: Headers): Response | undefined {
  if (!FORWARDABLE_METHODS.includes(method)) return methodNotAllowed(PUBLIC_ROUTE_ALLOW);
  return method === "OPTIONS" ? optionsAsFinalRecipient(headers, PUBLIC_ROUTE_ALLOW) : undefined;
}

/**
 * RFC 9110 §7.6.2: an intermediary receiving an OPTIONS (or TRACE, which
 * is never forwarded) with `Max-Forwards: 0` MUST NOT forward it and MUST
 * answer as its final recipient; with more, it forwards it one lower (proxy.ts,
 * forwardedMaxForwards). As the final recipient the gateway answers about
 * itself (§9.3.7): `204` with `Allow` naming the methods it takes for the
 * path (`allow`), and nothing else — no CORS grant, which is the Worker
 * behind it's to give (a browser's preflight never carries Max-Forwards).
 *
 * The field is `1*DIGIT` (§7.6.2). A value it cannot read (`-1`, `1.5`, two
 * fields joined as `1, 2`) can be neither decremented nor obeyed, so
 * rather than pass it on unchanged — the loop bound it exists for gone —
 * or guess at it, the request is refused `400 invalid_header`, as Apache
 * httpd refuses it.
 */
export function optionsAsFinalRecipient(headers: Headers, allow: string): Response | undefined {
  const received = receivedMaxForwards(headers.get("Max-Forwards"));
  if (received === "absent" || (received !== "invalid" && received > 0)) return undefined;
  if (received === "invalid")
    return httpErrorResponse("invalid_header", "Max-Forwards must be a single non-negative integer (RFC 9110 §7.6.2)");
  return new Response(null, { status: 204, headers: { Allow: allow } });
}

/**
 * The value to forward an OPTIONS with, onto headers that carry the
 * caller's (RFC 9110 §7.6.2): one lower, at most MAX_FORWARDS_SUPPORTED.
 * An absent field stays absent (§9.3.7: a proxy MUST NOT generate one).
 * optionsAsFinalRecipient has answered a 0 or a value it cannot read
 * before anything is forwarded; were one to get here all the same, `0` is
 * sent, so the next hop answers instead of the chain being unbounded.
 */
export function forwardMaxForwards(headers: Headers): void {
  const received = receivedMaxForwards(headers.get("Max-Forwards"));
  if (received === "absent") return;
  const forwarded = received === "invalid" || received < 1 ? 0 : Math.min(received - 1, MAX_FORWARDS_SUPPORTED);
  headers.set("Max-Forwards", String(forwarded));
}

/** `1*DIGIT` read as a number; more digits than a double holds exactly are past the maximum anyway. */
function receivedMaxForwards(value: string | null): number | "absent" | "invalid" {
  if (value === null) return "absent";
  if (!/^\d+$/.test(value)) return "invalid";
  return value.length > 15 ? Number.POSITIVE_INFINITY : Number(value);
}
