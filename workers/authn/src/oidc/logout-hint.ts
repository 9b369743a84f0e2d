import { compactVerify, decodeProtectedHeader } from "jose";
import type { MiddlewareHandler } from "hono";
import { SIGNING_ALG } from "../../../../shared/contracts/tokens.ts";
import { COMPACT_JWS } from "../../../../shared/jwt/compact-jws.ts";
import type { KeyResolver } from "../../../../shared/jwt/verify-access-token.ts";
import { authnConfig, tokenService } from "../config.ts";
import { ISSUER_KEYS } from "./issuer-keys.ts";

type LogoutContext = { Bindings: AuthnEnv; Variables: { body: Uint8Array<ArrayBuffer> } };

const HINT = "id_token_hint";

/** The `typ` the token Worker gives every ID token it signs (workers/token/src/oidc/sign-browser-token.ts). */
const ID_TOKEN_TYP = "JWT";

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
 * A hint that fails reaches Better Auth with its signature cut off, so its
 * own invalid-hint path answers (the confirmation page for a signed-in
 * browser, otherwise `401 invalid_token`): one behaviour for every refused
 * hint, whichever check refused it. A value that is not a compact JWS at all
 * passes unchanged; Better Auth cannot decode it either.
 */
export const pinLogoutHint: MiddlewareHandler<LogoutContext> = async (c, next) => {
  const request = c.req.raw;
  const url = new URL(request.url);
  const body = c.var.body;
  const bodyText = request.method === "POST" && body.length > 0 ? new TextDecoder().decode(body) : "";
  const json = bodyText ? jsonObject(bodyText) : undefined;
  const form = bodyText && !json ? new URLSearchParams(bodyText) : undefined;

  const hints = [...url.searchParams.getAll(HINT), ...(form?.getAll(HINT) ?? [])];
  if (typeof json?.[HINT] === "string") hints.push(json[HINT]);
  if (hints.length === 0) return next();

  const clientId = requestedClientId(url, form, json);
  const { issuer } = authnConfig(c.env);
  const resolveKey = ISSUER_KEYS.resolver(tokenService(c.env));
  const refused = new Set<string>();
  for (const hint of new Set(hints)) {
    if (COMPACT_JWS.test(hint) && !(await isOurIdToken(hint, { issuer, clientId, resolveKey }))) refused.add(hint);
  }
  if (refused.size === 0) return next();

  const voided = (value: string) => (refused.has(value) ? withoutSignature(value) : value);
  if (url.searchParams.has(HINT)) url.search = rewritten(url.searchParams, voided).toString();
  let nextBody: Uint8Array<ArrayBuffer> = body;
  if (json && typeof json[HINT] === "string") {
    nextBody = new TextEncoder().encode(JSON.stringify({ ...json, [HINT]: voided(json[HINT]) }));
  } else if (form?.has(HINT)) {
    nextBody = new TextEncoder().encode(rewritten(form, voided).toString());
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

interface HintCheck {
  issuer: string;
  clientId: string | undefined;
  resolveKey: KeyResolver;
}

async function isOurIdToken(hint: string, { issuer, clientId, resolveKey }: HintCheck): Promise<boolean> {
  try {
    const header = decodeProtectedHeader(hint);
    if (header.alg !== SIGNING_ALG || header.typ !== ID_TOKEN_TYP || typeof header.kid !== "string") return false;
    const key = await resolveKey(header.kid);
    if (!key) return false;
    // jose refuses a `crit` it does not understand (RFC 7515 §4.1.11).
    const { payload } = await compactVerify(hint, key, { algorithms: [SIGNING_ALG] });
    const claims: unknown = JSON.parse(new TextDecoder().decode(payload));
    if (typeof claims !== "object" || claims === null) return false;
    const { iss, aud, sub, sid } = claims as Record<string, unknown>;
    // OIDC Core §2: our ID tokens name exactly one audience, the client the person signed in to.
    if (iss !== issuer || typeof aud !== "string" || aud.length === 0) return false;
    if (clientId !== undefined && aud !== clientId) return false;
    return typeof sub === "string" && sub.length > 0 && typeof sid === "string" && sid.length > 0;
  } catch {
    return false;
  }
}

/** Better Auth reads the query and the body as one object, the body's value last. */
function requestedClientId(
  url: URL,
  form: URLSearchParams | undefined,
  json: Record<string, unknown> | undefined,
): string | undefined {
  const fromBody = typeof json?.client_id === "string" ? json.client_id : (form?.get("client_id") ?? undefined);
  return fromBody ?? url.searchParams.get("client_id") ?? undefined;
}

/** The same JWS with an empty signature: decodable, never verifiable. */
function withoutSignature(token: string): string {
  return token.slice(0, token.lastIndexOf(".") + 1);
}

function rewritten(params: URLSearchParams, voided: (value: string) => string): URLSearchParams {
  const out = new URLSearchParams();
  for (const [name, value] of params) out.append(name, name === HINT ? voided(value) : value);
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
