import { tryGetCurrentAuthEndpointContext } from "@better-auth/core/context";
import { DiscoveryError } from "@better-auth/sso";
import type { BetterAuthPlugin } from "better-auth";
import { createAuthMiddleware } from "better-auth/api";
import { decodeJwt, type JWTPayload } from "jose";
import { CLOCK_TOLERANCE_SECONDS } from "../../../../shared/contracts/tokens.ts";
import { BodyTooLargeError, readStreamCapped } from "../../../../shared/http/read-body.ts";

/**
 * The longest one fetch to an org's IdP may take, its answer read in full
 * (ms). SSO_UPSTREAM_TIMEOUT_MS (config.ts) may only shorten it.
 */
export const SSO_UPSTREAM_TIMEOUT_MS = 10_000;

/** The largest answer read from an org's IdP (discovery, JWKS, token, userinfo): all are small JSON documents. */
export const SSO_UPSTREAM_MAX_BYTES = 1024 * 1024;

/**
 * Why the Worker gave up on an org's IdP. Each is the `error_description`
 * of the callback's redirect (`error=invalid_provider`, the plugin's own
 * answer to a failed token, userinfo or JWKS fetch and to a bad ID token).
 */
export const SSO_UPSTREAM_ERROR = {
  /** The IdP did not answer in full within the timeout. */
  timeout: "SSO_UPSTREAM_TIMEOUT",
  /** The IdP's answer was larger than SSO_UPSTREAM_MAX_BYTES. */
  tooLarge: "SSO_UPSTREAM_TOO_LARGE",
  /** The ID token has no `exp` NumericDate (OIDC Core §2: REQUIRED; §3.1.3.7 step 9). */
  idTokenExpRequired: "SSO_ID_TOKEN_EXP_REQUIRED",
  /** The ID token's `iat` is missing, in the future, or not before its `exp` (OIDC Core §2; §3.1.3.7 step 10). */
  idTokenIatInvalid: "SSO_ID_TOKEN_IAT_INVALID",
} as const;

export type SsoUpstreamErrorCode = (typeof SSO_UPSTREAM_ERROR)[keyof typeof SSO_UPSTREAM_ERROR];

/**
 * A refused IdP answer. It is the plugin's DiscoveryError, because that is
 * the one error every SSO fetch site of the plugin turns into a typed
 * answer rather than a 500: the callback redirects with
 * `error=invalid_provider&error_description=<code>`; a registration's
 * discovery answers 502 (`discovery_timeout`, `discovery_unexpected_error`).
 */
export class SsoUpstreamError extends DiscoveryError {
  override readonly name = "SsoUpstreamError";
  constructor(
    readonly reason: SsoUpstreamErrorCode,
    details: Record<string, unknown>,
  ) {
    super(reason === SSO_UPSTREAM_ERROR.timeout ? "discovery_timeout" : "discovery_unexpected_error", reason, details);
  }
}

type Fetch = typeof fetch;
type BeforeHook = NonNullable<NonNullable<BetterAuthPlugin["hooks"]>["before"]>[number];

/** The plugin's endpoints that fetch from an org's IdP: registration and update (discovery), sign-in, the callback. */
function isSsoEndpoint(path: string | undefined): boolean {
  return path !== undefined && (path.startsWith("/sso/") || path === "/sign-in/sso");
}

const limitedFetches = new WeakSet<Fetch>();

/**
 * Puts the limits in front of the runtime's `fetch`, for fetches made while
 * an SSO endpoint runs (Better Auth's endpoint context says which). The
 * plugin takes no fetch of ours: its token and userinfo requests
 * (`betterFetch`) and its JWKS loader (jose's `customFetch`, which it points
 * at its own redirect check) all end in `globalThis.fetch`, and betterFetch's
 * timeout (discovery only) stops at the headers. Wrapped again whenever
 * `fetch` was replaced since (a test's scripted IdP), never twice in a row.
 */
export function limitSsoUpstreamFetches(timeoutMs: number): void {
  const runtime = globalThis.fetch;
  if (limitedFetches.has(runtime)) return;
  const limited = ((input: RequestInfo | URL, init?: RequestInit) =>
    isSsoEndpoint(tryGetCurrentAuthEndpointContext()?.path)
      ? fetchFromIdp(runtime, input, init, timeoutMs)
      : runtime(input, init)) as Fetch;
  limitedFetches.add(limited);
  globalThis.fetch = limited;
}

/** A before hook on every SSO endpoint, so the limits are in place before the plugin's first fetch. */
export function ssoUpstreamLimits(timeoutMs: number): BeforeHook {
  return {
    matcher: (context) => isSsoEndpoint(context.path),
    handler: createAuthMiddleware(async () => {
      limitSsoUpstreamFetches(timeoutMs);
    }),
  };
}

/**
 * One fetch to the IdP, answer read in full within `timeoutMs` and
 * SSO_UPSTREAM_MAX_BYTES, handed back buffered: the plugin's reads
 * (`response.text()`, `response.json()`) then neither wait nor grow.
 */
async function fetchFromIdp(
  runtime: Fetch,
  input: RequestInfo | URL,
  init: RequestInit | undefined,
  timeoutMs: number,
): Promise<Response> {
  const url = input instanceof Request ? input.url : String(input);
  const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
  const deadline = new AbortController();
  const callers = [init?.signal, input instanceof Request ? input.signal : undefined].filter(
    (signal): signal is AbortSignal => signal != null,
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new SsoUpstreamError(SSO_UPSTREAM_ERROR.timeout, { url, timeoutMs }));
      deadline.abort();
    }, timeoutMs);
  });
  const exchange = (async () => {
    const response = await runtime(input, { ...init, signal: AbortSignal.any([deadline.signal, ...callers]) });
    const body = await readCapped(response, url);
    if (method === "POST") refuseIdTokenTimes(body);
    return buffered(response, body);
  })();
  // Once the deadline has answered, the abandoned exchange's own failure is nobody's.
  exchange.catch(() => undefined);
  try {
    return await Promise.race([exchange, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

async function readCapped(response: Response, url: string): Promise<Uint8Array<ArrayBuffer>> {
  const tooLarge = () => new SsoUpstreamError(SSO_UPSTREAM_ERROR.tooLarge, { url, maxBytes: SSO_UPSTREAM_MAX_BYTES });
  // A declared length over the cap is refused unread; an absent or lying one is caught while reading.
  if (Number(response.headers.get("Content-Length") ?? "0") > SSO_UPSTREAM_MAX_BYTES) {
    await response.body?.cancel();
    throw tooLarge();
  }
  try {
    return await readStreamCapped(response.body, SSO_UPSTREAM_MAX_BYTES);
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw tooLarge();
    throw error;
  }
}

/** Statuses whose Response may carry no body (Fetch §2.2.3 null body status). */
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

function buffered(response: Response, body: Uint8Array<ArrayBuffer>): Response {
  const headers = new Headers(response.headers);
  // The bytes are the decoded body: the wire's length and encoding no longer describe them.
  headers.delete("Content-Length");
  headers.delete("Content-Encoding");
  return new Response(NULL_BODY_STATUS.has(response.status) ? null : body, {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}

/**
 * The token response's ID token (OIDC Core §3.1.3.3): the plugin verifies
 * its signature, `iss`, `aud` and `azp` with jose, which checks `exp` and
 * `iat` only when they are present. OIDC Core §2 makes both REQUIRED, and a
 * token without `exp` never stops being valid. Checked here, on the answer
 * before the plugin reads it: a refusal only; whatever passes is still
 * verified by the plugin. A body that is not JSON or an ID token that is
 * not a JWT is the plugin's to refuse.
 */
function refuseIdTokenTimes(body: Uint8Array<ArrayBuffer>): void {
  let document: unknown;
  try {
    document = JSON.parse(new TextDecoder().decode(body));
  } catch {
    return;
  }
  const idToken = (document as { id_token?: unknown } | null)?.id_token;
  if (typeof idToken !== "string") return;
  let claims: JWTPayload;
  try {
    claims = decodeJwt(idToken);
  } catch {
    return;
  }
  const { exp, iat } = claims;
  if (!isNumericDate(exp)) throw new SsoUpstreamError(SSO_UPSTREAM_ERROR.idTokenExpRequired, {});
  const now = Math.floor(Date.now() / 1000);
  // §3.1.3.7 step 10: an `iat` ahead of our clock (beyond the skew we allow
  // every token) or not before its own `exp` is not a time the IdP issued it.
  if (!isNumericDate(iat) || iat > now + CLOCK_TOLERANCE_SECONDS || iat >= exp) {
    throw new SsoUpstreamError(SSO_UPSTREAM_ERROR.idTokenIatInvalid, {});
  }
}

/** RFC 7519 §2 NumericDate: a finite number of seconds. */
function isNumericDate(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}
