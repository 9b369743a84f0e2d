import { SET_MEDIA_TYPE } from "../../../../shared/contracts/ssf.ts";
import { readStreamCapped } from "../../../../shared/http/read-body.ts";

/** What a push attempt came to (RFC 8935 §2.2–§2.4). */
export type PushOutcome =
  | { kind: "delivered" }
  /** §2.3: the receiver read the SET and refused it; sending it again cannot help. */
  | { kind: "rejected"; err: string }
  /** Anything else (network, 401/403, 429, 5xx, a redirect): the SET is sent again later. */
  | { kind: "retry"; error: string };

/** How SETs leave the Worker: `fetch`, or an egress service (SSF_PUSH_OUTBOUND). */
export type PushTransport = Pick<Fetcher, "fetch">;

/**
 * RFC 8935 §2.4 error codes that say nothing against the SET itself: it is
 * sent again later. `authentication_failed` and `access_denied` refuse the
 * transmitter's credentials or rights; `invalid_key` the key the SET is
 * signed with, which after a rotation of ours is most often a receiver
 * still holding our old JWKS: it takes the same SET once it fetches our keys
 * again. Dropped, a revocation's SET was lost for good once the receiver
 * was fixed; retried, it waits with backoff until the outbox's retention.
 */
const NOT_ABOUT_THE_SET: ReadonlySet<string> = new Set(["authentication_failed", "access_denied", "invalid_key"]);

/** A receiver that does not answer in this long is retried. */
const PUSH_TIMEOUT_MS = 10_000;

/**
 * Most of a 400's body read (RFC 8935 §2.3: `{err, description}`, a few
 * hundred bytes). The body is read inside the org's transmitter object: a
 * receiver streaming megabytes must not fill its memory.
 */
export const MAX_PUSH_ERROR_BODY_BYTES = 4 * 1024;

/**
 * Where pushes go out: the optional SSF_PUSH_OUTBOUND service binding (an
 * egress Worker, e.g. one with fixed addresses a receiver allow-lists; the
 * in-runtime tests bind a real receiver Worker there), else the Worker's own
 * `fetch`. Not in wrangler.toml: a deployment that wants it adds it.
 */
export function pushTransport(env: TokenEnv): PushTransport {
  const outbound = (env as TokenEnv & { SSF_PUSH_OUTBOUND?: Fetcher }).SSF_PUSH_OUTBOUND;
  return outbound ?? { fetch: (input, init) => fetch(input, init) };
}

/**
 * RFC 8935 §2: one SET, POSTed as `application/secevent+jwt` with the
 * Authorization the receiver registered. §2.2: 202 is success (any 2xx is
 * taken as received). §2.3: a 400 whose JSON names an `err` is the
 * receiver's refusal of that SET (its body read to a cap). Redirects are not followed: the endpoint
 * is what the receiver registered, and the Authorization must not travel.
 */
export async function pushSet(
  transport: PushTransport,
  endpoint: string,
  authorization: string | undefined,
  jwt: string,
): Promise<PushOutcome> {
  let response: Response;
  try {
    response = await transport.fetch(endpoint, {
      method: "POST",
      headers: {
        "Content-Type": SET_MEDIA_TYPE,
        Accept: "application/json",
        ...(authorization ? { Authorization: authorization } : {}),
      },
      body: jwt,
      redirect: "manual",
      signal: AbortSignal.timeout(PUSH_TIMEOUT_MS),
    });
  } catch (error) {
    return { kind: "retry", error: error instanceof Error ? error.name : "network error" };
  }
  if (response.status >= 200 && response.status < 300) {
    await response.body?.cancel();
    return { kind: "delivered" };
  }
  if (response.status === 400) {
    const body = await errorBody(response);
    const err = typeof body === "object" && body !== null ? (body as { err?: unknown }).err : undefined;
    if (typeof err !== "string") return { kind: "retry", error: "400 without err" };
    if (NOT_ABOUT_THE_SET.has(err)) return { kind: "retry", error: `400 ${err}` };
    return { kind: "rejected", err: err.slice(0, 64) };
  }
  await response.body?.cancel();
  return { kind: "retry", error: `HTTP ${response.status}` };
}

/**
 * A 400's JSON body, read to MAX_PUSH_ERROR_BODY_BYTES at most (whatever
 * Content-Length says): a longer one is no RFC 8935 §2.3 error, so its
 * stream is cancelled at the cap and it reads as no body at all, like one
 * that is not JSON.
 */
async function errorBody(response: Response): Promise<unknown> {
  try {
    return JSON.parse(new TextDecoder().decode(await readStreamCapped(response.body, MAX_PUSH_ERROR_BODY_BYTES)));
  } catch {
    return undefined;
  }
}

/** Backoff before attempt n+1 after n failures: 1 s, 2 s, 4 s, … capped at 5 minutes. */
export function pushBackoffMs(failures: number): number {
  return Math.min(1000 * 2 ** Math.max(0, failures - 1), 300_000);
}
