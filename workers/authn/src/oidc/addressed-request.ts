import type { BetterAuthPlugin } from "better-auth";
import { createAuthMiddleware } from "better-auth/api";

/**
 * The request a client sent to the issuer's own endpoint, as Better Auth's
 * endpoint sees it. The token Worker hands a browser grant over
 * (oidc/grant-entrypoint.ts) at the provider's internal path, the only path
 * Better Auth's router routes to its endpoint; but the client addressed
 * ENDPOINT.token, the `token_endpoint` of the metadata, and signed its DPoP
 * proof's `htu` for that URL (RFC 9449 §4.2, §4.3 step 9). The
 * oauth-provider checks `htu` against `ctx.request.url`, so the endpoint is
 * given a request at the advertised URL: a proof made for the internal path,
 * which no client can reach from the internet, is then refused, and one made
 * as the RFC says is accepted. Only requests handed over here are swapped;
 * nothing else reaches Better Auth with a different URL.
 */
const addressed = new WeakMap<Request, Request>();

/**
 * Registers `handed` (internal URL) as the request the client sent to
 * `advertisedUrl`, with the same form, and returns that one. The form goes
 * too: the router parsed `handed`'s for the endpoint, but some readers take
 * the request's own body again (a metadata-document client's `client_id` is
 * found that way), and a copy without one left them none.
 */
export function addressAs(handed: Request, advertisedUrl: string, form: string): Request {
  const asAddressed = new Request(advertisedUrl, { method: handed.method, headers: handed.headers, body: form });
  addressed.set(handed, asAddressed);
  return asAddressed;
}

function addressedRequestOf(request: Request | undefined): Request | undefined {
  return request ? addressed.get(request) : undefined;
}

/**
 * The swap, as a before hook: a hook's `context` replaces the endpoint
 * context's fields (better-auth dispatchAuthEndpoint), here `request`.
 */
export const addressedRequestPlugin = {
  id: "mono-auth-addressed-request",
  hooks: {
    before: [
      {
        matcher: (ctx) => addressedRequestOf(ctx.request) !== undefined,
        handler: createAuthMiddleware(async (ctx) => ({ context: { request: addressedRequestOf(ctx.request) } })),
      },
    ],
  },
} satisfies BetterAuthPlugin;
