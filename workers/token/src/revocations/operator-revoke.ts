import type { RevocationKind } from "../../../../shared/contracts/revocation.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import { recordRevocation } from "../../../../shared/revocation/record-revocation.ts";

export interface OperatorRevocation {
  orgId: string;
  kind: RevocationKind;
  value: string;
  reason: string;
}

/**
 * Records an operator's revocation in the org's Durable Object
 * (shared/revocation/record-revocation.ts) and answers its seq. Resolves
 * only once recorded; otherwise 503 `temporarily_unavailable`, so the
 * operator sees no success for a revocation that did not happen and
 * retries (recording the same revocation twice is harmless). `slackSeconds`:
 * a `grant` entry lives that much longer (MAX_REVOCATION_SLACK_SECONDS).
 */
export async function recordOperatorRevocation(
  env: TokenEnv,
  revocation: OperatorRevocation,
  waitUntil: (promise: Promise<unknown>) => void,
  slackSeconds?: number,
): Promise<number> {
  try {
    return await recordRevocation(env, revocation, { waitUntil, slackSeconds });
  } catch (error) {
    console.error("operator revocation not recorded", revocation.orgId, revocation.kind, error);
    throw new HttpError("temporarily_unavailable", "the revocation could not be recorded; retry");
  }
}
