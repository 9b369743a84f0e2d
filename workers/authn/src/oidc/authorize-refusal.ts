import type { Context } from "hono";
import { browserClientForConsent } from "../../../../shared/oidc/browser-clients.ts";
import { authnConfig } from "../config.ts";
import { AUTH_ERROR_PAGE } from "../pages/auth-error.tsx";

export type AuthorizeContext = Context<{ Bindings: AuthnEnv; Variables: { body: Uint8Array<ArrayBuffer> } }>;

/** The one media type Better Auth takes a POSTed authorization request in (its `allowedMediaTypes`). */
const FORM_MEDIA_TYPE = "application/x-www-form-urlencoded";

/**
 * The authorization request's parameters where Better Auth reads them: the
 * query of a GET (RFC 6749 §4.1.1), the form of a POST (OIDC Core §3.1.2.1),
 * never both. Undefined for a POST in another media type, which Better Auth
 * refuses itself (415) without reading it.
 */
export function authorizeParameters(c: AuthorizeContext): URLSearchParams | undefined {
  const request = c.req.raw;
  if (request.method !== "POST") return new URL(request.url).searchParams;
  const mediaType = (request.headers.get("Content-Type") ?? "").toLowerCase().split(";")[0]?.trim();
  if (mediaType !== FORM_MEDIA_TYPE) return undefined;
  return new URLSearchParams(new TextDecoder().decode(c.var.body));
}

/** The parameter's one value, or undefined when it is absent or repeated (RFC 6749 §3.1: never repeated). */
export function single(params: URLSearchParams, name: string): string | undefined {
  const values = params.getAll(name);
  return values.length === 1 ? values[0] : undefined;
}

/**
 * The codes this Worker refuses an authorization request with: RFC 6749
 * §4.1.2.1 `invalid_request`, and OIDC Core §3.1.2.6's `login_required` and
 * `account_selection_required`.
 */
export type AuthorizeErrorCode = "invalid_request" | "login_required" | "account_selection_required";

/** What a refusal reads of the request: the Worker's bindings and the request itself. */
type RefusalContext = { env: AuthnEnv; req: { raw: Request } };

/**
 * RFC 6749 §4.1.2.1: an authorization request refused (`invalid_request`
 * unless `error` says otherwise).
 * When the request's `client_id` is an enabled client and its `redirect_uri`
 * one that client registered, compared exactly (RFC 9700 §4.1.3), the error
 * goes back there with `state` and `iss` (RFC 9207 §2), in the query (the
 * one response mode the provider serves). Otherwise the client or
 * its redirect URI is itself in doubt and the clause forbids redirecting to
 * it: the person is sent to the error page instead (pages/auth-error.tsx), as
 * Better Auth sends them for its own such refusals. The answer takes Better
 * Auth's shape too: a 302, or `{redirect, url}` to a caller that asked for
 * JSON (a fetch), so its client library follows ours as it follows its own.
 *
 * The check is this Worker's, not Better Auth's: a client it would also
 * trust that has no exact row here (a loopback redirect on another port, a
 * metadata-document client not stored yet) gets the error page, never a
 * redirect this check did not match.
 */
export async function refuseAuthorization(
  c: RefusalContext,
  params: URLSearchParams,
  description: string,
  error: AuthorizeErrorCode = "invalid_request",
): Promise<Response> {
  const redirectUri = await registeredRedirectUri(c.env.DB, params);
  if (redirectUri === undefined) return toErrorPage(c, error, description);
  const target = new URL(redirectUri);
  target.searchParams.set("error", error);
  target.searchParams.set("error_description", description);
  const state = single(params, "state");
  if (state) target.searchParams.set("state", state);
  target.searchParams.set("iss", authnConfig(c.env).issuer);
  return answerWith(c.req.raw, target);
}

/**
 * RFC 6749 §4.1.2.1: the person is told, on the error page, and nothing goes
 * to the client, whose identity or redirect URI is in doubt.
 */
export function toErrorPage(c: RefusalContext, error: string, description: string): Response {
  const target = new URL(`${authnConfig(c.env).issuer}${AUTH_ERROR_PAGE}`);
  target.searchParams.set("error", error);
  target.searchParams.set("error_description", description);
  return answerWith(c.req.raw, target);
}

/** Better Auth's shape: a 302, or `{redirect, url}` to a caller that asked for JSON. */
function answerWith(request: Request, target: URL): Response {
  const headers = { "Cache-Control": "no-store" };
  const wantsJson =
    request.headers.get("Sec-Fetch-Mode") === "cors" ||
    (request.headers.get("Accept") ?? "").includes("application/json");
  if (wantsJson) return Response.json({ redirect: true, url: target.href }, { headers });
  return new Response(null, { status: 302, headers: { ...headers, Location: target.href } });
}

/** The request's redirect URI when its client is an enabled one that registered exactly that URI. */
async function registeredRedirectUri(db: D1Database, params: URLSearchParams): Promise<string | undefined> {
  const clientId = single(params, "client_id");
  const redirectUri = single(params, "redirect_uri");
  if (!clientId || !redirectUri || redirectUri.includes("#")) return undefined;
  const client = await browserClientForConsent(db, clientId);
  return client?.redirectUris.includes(redirectUri) ? redirectUri : undefined;
}
