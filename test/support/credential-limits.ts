// What the credential-limit tests share, in the Workers runtime
// (test/authn) and over HTTP against the whole system (test/e2e): the
// limits as configured, the answer to a refused API attempt, a window guard
// and client addresses of a test's own. No runtime imports: both sides load it.

/** workers/authn/wrangler.toml `[[ratelimits]]`: attempts per period, per client address and per account. */
export const ADDRESS_LIMIT = 30;
export const ACCOUNT_LIMIT = 10;
/** Their period (workers/authn/src/config.ts CREDENTIAL_LIMIT_PERIOD_SECONDS): also the `Retry-After`. */
export const PERIOD_SECONDS = 60;

/** The JSON body of an API attempt refused by a limit (workers/authn/src/api/better-auth-api.ts). */
export const RATE_LIMITED_BODY = { error: "rate_limited", error_description: "too many attempts; try again later" };

/**
 * The limiter counts in windows aligned to the clock (one per period). A
 * run that crosses into the next window has its count reset halfway, which
 * says nothing about the limit, so such a run is repeated with fresh keys.
 */
export async function inOneWindow<T>(run: () => Promise<T>): Promise<T> {
  const window = () => Math.floor(Date.now() / (PERIOD_SECONDS * 1000));
  for (let attempt = 0; attempt < 3; attempt++) {
    const started = window();
    const result = await run();
    if (window() === started) return result;
  }
  throw new Error("could not stay within one limiter window");
}

/**
 * A client address of its own (from 198.18.0.0/15, the benchmarking range of
 * RFC 2544), as Cloudflare's edge would report it in `cf-connecting-ip`, so
 * a test's password attempts do not spend another test's per-address budget
 * (workers/authn/src/limits/credential-limits.ts).
 */
export function clientAddress(): string {
  const [a, b, c] = crypto.getRandomValues(new Uint8Array(3)) as unknown as [number, number, number];
  return `198.${18 + (a & 1)}.${b}.${c}`;
}
