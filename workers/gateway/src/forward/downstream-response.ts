import { canonicalHeaderName, DOWNSTREAM_RESPONSE_HEADERS } from "../../../../shared/contracts/headers.ts";
import { httpErrorResponse } from "../../../../shared/errors/http.ts";
import { boundedMemo } from "../../../../shared/isolate/bounded-memo.ts";

export interface ResponsePolicy {
  /** The route serves documents a browser may run (HTML, SVG, scripts…) as the identity origin. */
  allowActiveContent: boolean;
}

/**
 * What a protected route's downstream may send back through the one origin,
 * which is the identity provider's: a page or script served from it runs
 * with the login pages' authority, and a cookie set from it lands beside the
 * session cookie. So, unless the route says otherwise:
 * - a response whose media type is active content is refused (502
 *   `upstream_response_refused`) rather than rewritten: a downstream that
 *   serves HTML here is misconfigured, and a rewritten type would hide that;
 * - only representation and caching headers pass
 *   (shared/contracts/headers.ts, DOWNSTREAM_RESPONSE_HEADERS): no
 *   `Set-Cookie`, no CORS, no `Clear-Site-Data`; `Location` only within the
 *   origin (no open redirect from the identity origin);
 * - every answer is for its caller alone: `Cache-Control` says `private`
 *   (privateCacheControl), so no shared cache keeps it for others;
 * - `X-Content-Type-Options: nosniff` stops a browser from guessing an
 *   active type for a passive one, and a sandboxing CSP keeps anything that
 *   still renders from running script or being framed.
 */
export function filterDownstreamResponse(response: Response, requestUrl: URL, policy: ResponsePolicy): Response {
  const contentType = response.headers.get("Content-Type");
  if (!policy.allowActiveContent && contentType !== null && isActiveContent(contentType)) {
    console.warn("downstream answered with active content", { path: requestUrl.pathname, contentType });
    return httpErrorResponse(
      "upstream_response_refused",
      "the service answered with content this origin does not serve",
    );
  }
  const headers = new Headers();
  for (const [name, value] of response.headers) {
    if (passes(name)) headers.append(name, value);
  }
  headers.set("Cache-Control", privateCacheControl(response.headers.get("Cache-Control")));
  const location = sameOriginLocation(response.headers.get("Location"), requestUrl);
  if (location) headers.set("Location", location);
  headers.set("X-Content-Type-Options", "nosniff");
  if (!policy.allowActiveContent) {
    headers.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; sandbox");
  }
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

/**
 * RFC 9111 §3.5 lets a shared cache (a corporate proxy, a CDN in front of
 * the origin) store the answer to an authenticated request when it says
 * `public`, `s-maxage` or `must-revalidate`, and serve it to the next
 * person who asks, without the gateway ever seeing their token: a
 * downstream's `public` on a per-person answer would be an authorization
 * bypass at that cache. So every protected answer is `private` (§5.2.2.7:
 * no shared cache stores it; the caller's own may, as it asked), with
 * `public` and `s-maxage` taken out; `no-store` stays as it is. The
 * directives are split on commas outside quoted strings (§5.2).
 */
export function privateCacheControl(value: string | null): string {
  const directives = (value ?? "").match(/(?:[^,"]|"(?:[^"\\]|\\.)*")+/g) ?? [];
  const kept: string[] = [];
  let noStore = false;
  let isPrivate = false;
  for (const raw of directives) {
    const directive = raw.trim();
    if (directive === "") continue;
    const name = (directive.split("=")[0] ?? "").trim().toLowerCase();
    if (name === "public" || name === "s-maxage") continue;
    if (name === "no-store") noStore = true;
    // A `private` naming fields (§5.2.2.7) lets a shared cache keep the rest: the bare one replaces it.
    if (name === "private") {
      isPrivate = true;
      continue;
    }
    kept.push(directive);
  }
  // `no-store` alone already keeps it out of every cache.
  return noStore && !isPrivate ? kept.join(", ") : ["private", ...kept].join(", ");
}

/** Judged once per name and isolate, like the request side's (strip-untrusted-headers.ts). */
const passes = boundedMemo(256, (name) => DOWNSTREAM_RESPONSE_HEADERS.has(canonicalHeaderName(name)));

/**
 * Media types a browser renders as a document that can run script, or runs
 * as script (WHATWG MIME Sniffing §4.6 lists the JavaScript essences). Any
 * XML type counts: an XML document can carry XHTML or SVG with script.
 * A header that names several types is refused: browsers disagree on which
 * one wins.
 */
export function isActiveContent(contentType: string): boolean {
  if (contentType.includes(",")) return true;
  const essence = (contentType.split(";")[0] ?? "").trim().toLowerCase();
  return (
    essence === "text/html" ||
    essence === "application/xhtml+xml" ||
    essence === "image/svg+xml" ||
    essence === "text/xml" ||
    essence === "application/xml" ||
    essence === "text/xsl" ||
    essence.endsWith("+xml") ||
    essence === "multipart/x-mixed-replace" ||
    /(java|ecma|j|live)script/.test(essence)
  );
}

function sameOriginLocation(value: string | null, requestUrl: URL): string | undefined {
  if (value === null) return undefined;
  try {
    const target = new URL(value, requestUrl);
    return target.origin === requestUrl.origin ? target.href : undefined;
  } catch {
    return undefined;
  }
}
