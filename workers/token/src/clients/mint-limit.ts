import { mintLimiterName } from "../../../../shared/contracts/mint-limit.ts";
import { HttpError } from "../../../../shared/errors/http.ts";

/** The policy's unit: mints per minute. */
const MINT_WINDOW_SECONDS = 60;

/**
 * Counts one mint for a client against its org's `mints_per_minute_per_client`
 * in the client's MintLimiter Durable Object (strongly consistent across
 * isolates and locations; shared/contracts/mint-limit.ts). Over the limit:
 * 429 `rate_limited` with `Retry-After` (RFC 6585 §4), thrown as an
 * HttpError the token endpoint answers and audits as a refusal.
 */
export async function takeMint(
  env: Pick<TokenEnv, "MINT_LIMITER">,
  clientId: string,
  mintsPerMinute: number,
): Promise<void> {
  const verdict = await env.MINT_LIMITER.getByName(mintLimiterName(clientId)).take(mintsPerMinute, MINT_WINDOW_SECONDS);
  if (!verdict.allowed) {
    throw new HttpError("rate_limited", `this client may mint at most ${mintsPerMinute} tokens per minute`, {
      "Retry-After": String(verdict.retryAfterSeconds),
    });
  }
}
