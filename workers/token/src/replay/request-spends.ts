import { replayGuardName } from "../../../../shared/contracts/replay.ts";

/** One marker this request set, and the secret that lets only this request give it back. */
interface Spend {
  scope: string;
  value: string;
  holder: string;
}

/**
 * Whether a refusal with this status was not the caller's doing: our own
 * failure (5xx: a revocation that could not be recorded, storage that could
 * not be read) or the client's mint limit (429, RFC 6585 §4, which a retry
 * after `Retry-After` is meant to pass). Every 4xx but 429 is the request's
 * own fault, and resending the same credential could only fail the same way.
 */
export function isRetryableRefusal(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * The single-use markers (shared/contracts/replay.ts) one request spends in
 * the ReplayGuard, so that a request that ends issuing nothing, for a reason
 * that is not its caller's, gives them back: the client resends the same
 * request (a 503 is temporary, RFC 9110 §15.6.4, and RFC 7009 §2.2.1 has a
 * revocation's 503 retried; a 429 is retried after `Retry-After`, RFC 6585
 * §4) and its RFC 7523 assertion is accepted once more, where it had been
 * burnt by a request that bought nothing with it.
 *
 * One assertion still never buys two tokens, under any concurrency: each
 * marker is set with a holder (a random UUID) only this object knows, and
 * while it is set every other request with the same `jti` is refused; this
 * object gives a marker back only if the request never reached `keep()`
 * (called as soon as anything was issued), and the ReplayGuard frees it only
 * if it still carries this holder, so a late release cannot free a marker
 * that another request has taken since. What reopens is one assertion for
 * the rest of its own lifetime (at most five minutes), and only when the
 * request it came with bought nothing; its holder could sign a new one anyway.
 */
export class RequestSpends {
  private readonly spent: Spend[] = [];
  private settled = false;

  constructor(private readonly env: Pick<TokenEnv, "REPLAY_GUARD">) {}

  /** ReplayGuardRpc.consume in `scope`'s object, remembered for `settle`. */
  async consume(scope: string, value: string, expiresAt: number): Promise<boolean> {
    const spend: Spend = { scope, value, holder: crypto.randomUUID() };
    // Remembered before the call: if its answer is lost, the marker may be
    // set all the same, and a release by a holder that set nothing frees nothing.
    this.spent.push(spend);
    const first = await this.guard(scope).consume(value, expiresAt, spend.holder);
    if (!first) this.spent.splice(this.spent.indexOf(spend), 1);
    return first;
  }

  /** The request issued what its markers paid for: from now on they stay spent, whatever fails next. */
  keep(): void {
    this.settled = true;
  }

  /**
   * Called once with the status of a refused request: gives its markers
   * back if nothing was issued (`keep` was not called) and the refusal is
   * retryable (isRetryableRefusal). Awaited before the answer is sent, so a
   * retry made at once finds them free. A release that fails leaves the
   * marker spent: the client signs a new assertion, as before.
   */
  async settle(status: number): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    if (!isRetryableRefusal(status)) return;
    await Promise.all(
      this.spent.splice(0).map(async ({ scope, value, holder }) => {
        try {
          await this.guard(scope).release(value, holder);
        } catch (error) {
          console.warn("single-use marker not given back", scope, error);
        }
      }),
    );
  }

  private guard(scope: string) {
    return this.env.REPLAY_GUARD.getByName(replayGuardName(scope));
  }
}
