import { type MintLimitVerdict, mintLimiterName } from "../../../../shared/contracts/mint-limit.ts";
import { HttpError } from "../../../../shared/errors/http.ts";

/** The policy's unit: mints per minute. */
const MINT_WINDOW_SECONDS = 60;

/** Most mints an isolate takes from a client's MintLimiter at once, for a limit up to 1000 a minute… */
const SMALL_LIMIT_MAX_TAKE = 10;
/** …and for a larger one, a hundredth of it, up to this many. */
const MAX_MINTS_PER_TAKE = 100;

/** Clients whose mints this isolate holds before it drops the expired ones. */
const SWEEP_ABOVE_CLIENTS = 1000;

/**
 * How many mints an isolate takes per Durable Object call: a tenth of the
 * per-minute limit, at most SMALL_LIMIT_MAX_TAKE (a limit below 20 takes
 * them one at a time); for a limit above 1000 a minute, a hundredth of it,
 * at most MAX_MINTS_PER_TAKE. Mints held by an isolate are spent for every
 * other one, so a small share keeps a client that several isolates serve
 * from being refused early: at most a tenth of a small limit, at most a
 * hundredth of a large one. A client allowed thousands of mints a minute
 * otherwise paid one call (a write in the object) per ten tokens: under
 * wrangler dev about 0.25 ms of CPU per client_credentials token
 * (bench/README.md, "Measured"). Never more than the limit is minted per
 * window whatever the share: the object counts mints when it hands them out.
 */
export function mintsPerTake(mintsPerMinute: number): number {
  const tenth = Math.min(SMALL_LIMIT_MAX_TAKE, Math.floor(mintsPerMinute / 10));
  const hundredth = Math.min(MAX_MINTS_PER_TAKE, Math.floor(mintsPerMinute / 100));
  return Math.max(1, tenth, hundredth);
}

/** Mints this isolate took for a client and has not made yet. */
interface HeldMints {
  /** The limit they were taken under: a changed policy drops them. */
  limit: number;
  remaining: number;
  /** The end of the window the MintLimiter counted them in (ms). */
  expiresAt: number;
}

const held = new Map<string, HeldMints>();
const taking = new Map<string, Promise<MintLimitVerdict>>();

/**
 * Counts one mint for a client against its org's `mints_per_minute_per_client`
 * in the client's MintLimiter Durable Object (strongly consistent across
 * isolates and locations; shared/contracts/mint-limit.ts). The isolate
 * takes a few mints per call (mintsPerTake) and makes the next ones from
 * those without a call: about 1 ms of CPU per client_credentials token
 * under wrangler dev (bench/README.md, "Measured"). The object counts them
 * when it hands them out, and leftovers are never used past the window they
 * were counted in, so no more than the limit are ever minted per window,
 * across every isolate. Over the limit: 429 `rate_limited` with
 * `Retry-After` (RFC 6585 §4), thrown as an HttpError the token endpoint
 * answers and audits as a refusal.
 */
export async function takeMint(
  env: Pick<TokenEnv, "MINT_LIMITER">,
  clientId: string,
  mintsPerMinute: number,
): Promise<void> {
  for (;;) {
    if (spendHeld(clientId, mintsPerMinute)) return;
    // Concurrent mints of one client in this isolate wait for one call, then share what it took.
    const pending = taking.get(clientId);
    const verdict = await (pending ?? takeFromLimiter(env, clientId, mintsPerMinute));
    if (!verdict.allowed) {
      throw new HttpError("rate_limited", `this client may mint at most ${mintsPerMinute} tokens per minute`, {
        "Retry-After": String(verdict.retryAfterSeconds),
      });
    }
    // Our own call kept one of its mints for this request; a shared one's may be gone: look again.
    if (!pending) return;
  }
}

/** Makes one of the mints held for the client, if any are left under this limit and window. */
function spendHeld(clientId: string, limit: number): boolean {
  const mints = held.get(clientId);
  if (!mints) return false;
  if (mints.limit !== limit || Date.now() >= mints.expiresAt) {
    held.delete(clientId);
    return false;
  }
  mints.remaining -= 1;
  if (mints.remaining === 0) held.delete(clientId);
  return true;
}

/** One MintLimiter call: keeps one mint for the caller and holds the rest for this isolate. */
function takeFromLimiter(
  env: Pick<TokenEnv, "MINT_LIMITER">,
  clientId: string,
  limit: number,
): Promise<MintLimitVerdict> {
  const call = env.MINT_LIMITER.getByName(mintLimiterName(clientId))
    .take(limit, MINT_WINDOW_SECONDS, mintsPerTake(limit))
    .then((verdict) => {
      if (verdict.allowed && verdict.granted > 1) {
        if (held.size >= SWEEP_ABOVE_CLIENTS) dropExpired();
        held.set(clientId, { limit, remaining: verdict.granted - 1, expiresAt: verdict.windowEndsAt });
      }
      return verdict;
    })
    .finally(() => taking.delete(clientId));
  taking.set(clientId, call);
  return call;
}

function dropExpired(): void {
  const now = Date.now();
  for (const [clientId, mints] of held) {
    if (now >= mints.expiresAt) held.delete(clientId);
  }
}
