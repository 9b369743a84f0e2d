import { compactVerify, decodeProtectedHeader } from "jose";
import type { MiddlewareHandler } from "hono";
import { JWT_TYP, SIGNING_ALG } from "../../../../shared/contracts/tokens.ts";
import { COMPACT_JWS } from "../../../../shared/jwt/compact-jws.ts";
import type { KeyResolver } from "../../../../shared/jwt/verify-access-token.ts";
import { authnConfig, tokenService } from "../config.ts";
import { ISSUER_KEYS } from "./issuer-keys.ts";

type LogoutContext = { Bindings: AuthnEnv; Variables: { body: Uint8Array<ArrayBuffer> } };

const HINT = "id_token_hint";

/** A query copy and a body copy of one hint at most: more is no logout request, and each costs a signature check. */
const MAX_HINTS = 2;

/** better-call's media types for this endpoint (Better Auth's `allowedMediaTypes`), compared as it compares them. */
const JSON_MEDIA_TYPE = "application/json";
const FORM_MEDIA_TYPE = "application/x-www-form-urlencoded";

/**
 * OIDC RP-Initiated Logout 1.0 §2: "the OP MUST validate that it was the
 * issuer of the ID Token". Better Auth checks the hint's signature against
 * the issuer's JWKS with whatever algorithm the hint's header names and the
 * key allows, and never looks at `typ`, so any JWT of ours that carries a
 * `sid` and the client in `aud` would do. Before it sees the request, every
 * `id_token_hint` (query, form or JSON body) is verified here as an ID token
 * of ours: ES256 only (RFC 8725 §3.1), `typ` JWT (RFC 8725 §3.11: never an
 * access token's at+jwt), a `kid` of the issuer's key set, `iss` the issuer,
 * `aud` one client (and the request's `client_id` when it names one), `sub`
 * and `sid` present. Expiry is not checked: §2 says the OP SHOULD accept an
 * ID token whose `exp` has passed.
 *
 * A hint that fails — forged, another client's, or one of ours whose key
 * was retired, so that nothing can tell any more that we issued it — is
 * taken out of the request, and Better Auth answers it as a request without
 * a hint. §4: when a validation fails, "the information that failed to
 * validate MUST NOT be used", so neither the person, the session nor the
 * client (`aud`) it names may steer the logout; the hint is only RECOMMENDED
 * (§2), so the request itself stands. §2: "the OP MUST ask the End-User"
 * whether to log out "if an id_token_hint was not provided or if the
 * supplied ID Token does not belong to the current OP session", so a
 * browser, signed in or not, gets the confirmation page, never a logout
 * without it; the post-logout redirect then rests only on what the request
 * names itself (`client_id` and a `post_logout_redirect_uri` registered for
 * it exactly, §3's "other means of confirming the legitimacy"). A request
 * that is not a navigation gets Better Auth's `400 invalid_request` for a
 * logout it cannot confirm (or `invalid_client` for the `client_id` it
 * names). Before, Better Auth saw the hint voided and answered `401
 * invalid_token`, its error page to a signed-out browser: the person an RP
 * sent to log out after a key rotation was shown an error.
 *
 * The body is read as better-call reads it for Better Auth: by its media
 * type (JSON or a form; anything else Better Auth refuses, 415), the body's
 * value over the query's. Whatever its shape (jose's base64url decoding
 * takes padding and whitespace in a signature our pattern would not), a
 * refused hint is dropped wherever it came, every copy of it, and a hint
 * that verified stays. More than MAX_HINTS different hints in one request
 * are all refused. While the issuer's keys cannot be read (the token
 * Worker's `jwks()`), no hint verifies (fail closed: confirmation, the
 * session stays). A refused hint never reaches Better Auth, so it fetches no
 * key for it.
 */
export const pinLogoutHint: MiddlewareHandler<LogoutContext> = async (c, next) => {
  const request = c.req.raw;
  const url = new URL(request.url);
  const body = c.var.body;
  const bodyText = request.method === "POST" && body.length > 0 ? new TextDecoder().decode(body) : "";
  const mediaType = (request.headers.get("Content-Type") ?? "").toLowerCase().split(";")[0]?.trim();
  const json = bodyText && mediaType === JSON_MEDIA_TYPE ? jsonObject(bodyText) : undefined;
  const form = bodyText && mediaType === FORM_MEDIA_TYPE ? new URLSearchParams(bodyText) : undefined;

  const hints = [...url.searchParams.getAll(HINT), ...(form?.getAll(HINT) ?? [])];
  if (typeof json?.[HINT] === "string") hints.push(json[HINT]);
  if (hints.length === 0) return next();

  const clientId = requestedClientId(url, form, json);
  const { issuer } = authnConfig(c.env);
  const resolveKey = ISSUER_KEYS.resolver(tokenService(c.env));
  const distinct = new Set(hints);
  const refused = new Set<string>();
  for (const hint of distinct) {
    if (distinct.size > MAX_HINTS || !(await isOurIdToken(hint, { issuer, clientId, resolveKey }))) refused.add(hint);
  }
  if (refused.size === 0) return next();

  if (url.searchParams.has(HINT)) url.search = withoutRefused(url.searchParams, refused).toString();
  let nextBody: Uint8Array<ArrayBuffer> = body;
  if (json && typeof json[HINT] === "string" && refused.has(json[HINT])) {
    const { [HINT]: _refused, ...rest } = json;
    nextBody = new TextEncoder().encode(JSON.stringify(rest));
  } else if (form?.has(HINT)) {
    nextBody = new TextEncoder().encode(withoutRefused(form, refused).toString());
  }
  c.req.raw = new Request(url, {
    method: request.method,
    headers: request.headers,
    body: request.method === "POST" ? nextBody : null,
    redirect: request.redirect,
  });
  c.set("body", nextBody);
  return next();
};

export interface HintCheck {
  issuer: string;
  clientId: string | undefined;
  resolveKey: KeyResolver;
}

async function isOurIdToken(hint: string, check: HintCheck): Promise<boolean> {
  return (await verifiedIdTokenHint(hint, check)) !== undefined;
}

/**
 * The person an `id_token_hint` names, when it is an ID token of ours (the
 * checks above; `aud` the request's `client_id` when it names one), else
 * undefined. Also read at the authorization endpoint (oidc/authorize-id-token-hint.ts).
 */
export async function verifiedIdTokenHint(
  hint: string,
  { issuer, clientId, resolveKey }: HintCheck,
): Promise<{ sub: string } | undefined> {
  if (!COMPACT_JWS.test(hint)) return undefined;
  try {
    const header = decodeProtectedHeader(hint);
    if (header.alg !== SIGNING_ALG || header.typ !== JWT_TYP.idToken || typeof header.kid !== "string") {
      return undefined;
    }
    const key = await resolveKey(header.kid);
    if (!key) return undefined;
    // jose refuses a `crit` it does not understand (RFC 7515 §4.1.11).
    const { payload } = await compactVerify(hint, key, { algorithms: [SIGNING_ALG] });
    const claims: unknown = JSON.parse(new TextDecoder().decode(payload));
    if (typeof claims !== "object" || claims === null) return undefined;
    const { iss, aud, sub, sid } = claims as Record<string, unknown>;
    // OIDC Core §2: our ID tokens name exactly one audience, the client the person signed in to.
    if (iss !== issuer || typeof aud !== "string" || aud.length === 0) return undefined;
    if (clientId !== undefined && aud !== clientId) return undefined;
    const named = typeof sub === "string" && sub.length > 0 && typeof sid === "string" && sid.length > 0;
    return named ? { sub } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The `client_id` Better Auth acts on: it reads the query and the body as one
 * object, a body field (even an empty one) over the query's, a form's last
 * value; an empty one counts as none (it then takes the hint's `aud`).
 */
function requestedClientId(
  url: URL,
  form: URLSearchParams | undefined,
  json: Record<string, unknown> | undefined,
): string | undefined {
  let value: unknown = url.searchParams.getAll("client_id").at(-1);
  if (json && Object.hasOwn(json, "client_id")) value = json.client_id;
  else if (form?.has("client_id")) value = form.getAll("client_id").at(-1);
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

/** The parameters without every copy of a refused hint (RP-Initiated Logout §4: it MUST NOT be used). */
function withoutRefused(params: URLSearchParams, refused: ReadonlySet<string>): URLSearchParams {
  const out = new URLSearchParams();
  for (const [name, value] of params) if (!(name === HINT && refused.has(value))) out.append(name, value);
  return out;
}

function jsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
