/**
 * Rate limits on state that holds across isolates: the Workers
 * rate-limiting binding (its counters live in the runtime, per Cloudflare
 * location, not in an isolate's memory). Each binding is declared in a
 * Worker's wrangler.toml with its own limit and period.
 */
export interface LimitCheck {
  limiter: RateLimit;
  /** e.g. clientAddressKey(headers), or `account:${email}` */
  key: string;
  /** The binding's period (10 or 60 seconds): how long a refused client waits at most. */
  periodSeconds: number;
}

export interface LimitVerdict {
  limited: boolean;
  /** Seconds for `Retry-After` (RFC 9110 §10.2.3) when limited. */
  retryAfterSeconds: number;
}

/** Asks every limiter (each counts the attempt); limited if any refuses. */
export async function checkLimits(checks: readonly LimitCheck[]): Promise<LimitVerdict> {
  const outcomes = await Promise.all(checks.map((c) => c.limiter.limit({ key: c.key })));
  let retryAfterSeconds = 0;
  outcomes.forEach((outcome, i) => {
    if (!outcome.success) retryAfterSeconds = Math.max(retryAfterSeconds, (checks[i] as LimitCheck).periodSeconds);
  });
  return { limited: retryAfterSeconds > 0, retryAfterSeconds };
}
