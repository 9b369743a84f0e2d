import { HttpError } from "../../../../shared/errors/http.ts";
import { clearPendingCutoff, findOrgClient, updateClientIfUnchanged } from "../clients/client-store.ts";
import { revokeClientTokens } from "../clients/revoke-client.ts";
import type { StoredClient } from "../clients/types.ts";
import type { ClientFields } from "./client-body.ts";

/**
 * Whether a change takes something away the client's live tokens may hold: they are then revoked.
 *
 * A change of `client_type` counts whichever way it goes: the org's token
 * policy caps an agent's and a machine's TTL apart and may require DPoP of
 * agents only (clients/guardrails.ts, dpop/token-request-binding.ts), so a
 * bearer token minted for a 1-hour machine outlived its client becoming an
 * agent the org holds to DPoP and 60 seconds.
 */
export function narrows(before: StoredClient, changes: ClientFields): boolean {
  const lost = (was: readonly string[], now: string[] | undefined) =>
    now !== undefined && was.some((v) => !now.includes(v));
  return (
    (changes.status !== undefined && changes.status !== "active" && before.status === "active") ||
    (changes.kind !== undefined && changes.kind !== before.kind) ||
    lost(before.scopes, changes.scopes) ||
    lost(before.audiences, changes.audiences) ||
    lost(before.grantTypes, changes.grantTypes) ||
    (changes.maxTtlSeconds !== undefined &&
      changes.maxTtlSeconds !== null &&
      (before.maxTtlSeconds === null || changes.maxTtlSeconds < before.maxTtlSeconds)) ||
    (changes.requireDpop === true && !before.requireDpop) ||
    (changes.resourceServer === false && before.resourceServer)
  );
}

/**
 * Writes an admin's change of a client and, when it narrows the client (or
 * an earlier narrowing's cut-off is still owed), records a `client` cut-off
 * before it resolves; otherwise 503 `temporarily_unavailable`
 * (clients/revoke-client.ts).
 *
 * Order: the change and a mark (`pending_cutoff`) in one D1 write, then the
 * cut-off, then the mark cleared. Every token issued before the write was
 * allowed by the old registration, and its `iat` is the moment before its
 * mint read the client (mint/mint-access-token.ts), so at or before the
 * write: the one cut-off recorded after it covers them all; a token minted
 * after it holds only what the new registration allows.
 *
 * Why the mark: if the cut-off cannot be recorded, D1 already holds the new
 * values, and the next change would not see anything narrowed. It did
 * before the mark: a cut-off recorded before the write and another after
 * it, and when only the second failed, a retry found nothing to narrow,
 * recorded nothing and answered 200, so tokens minted between the two
 * outlived the change. The mark is ours, never part of a request, so the
 * next change of the client, whatever it changes (the same PATCH retried,
 * another one, even one that widens back), records a cut-off first.
 */
export async function changeClient(
  env: TokenEnv,
  before: StoredClient,
  changes: ClientFields,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<StoredClient> {
  // Judged against the row it is written over: a concurrent PATCH that
  // landed between the read and the write (one turning DPoP off, say) made
  // this change (turning it back on) narrow what was minted meanwhile,
  // though it narrowed nothing of what was read. So the write lands only on
  // the row that was judged; otherwise the row is read and judged again.
  let read = before;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const owed = narrows(read, changes) || read.pendingCutoff !== null;
    const mark = owed ? crypto.randomUUID() : undefined;
    const after = await updateClientIfUnchanged(env.DB, read, changes, mark);
    if (after) return mark === undefined ? after : cutOff(env, after, mark, waitUntil);
    const again = read.orgId === null ? undefined : await findOrgClient(env.DB, read.orgId, read.clientId);
    if (!again) throw new HttpError("not_found", "no such client in this organization");
    read = again;
  }
  throw new HttpError("conflict", "the client kept changing while this change was written; retry");
}

/** Writes that found the row changed under them before one is refused 409: each one re-reads it. */
const MAX_ATTEMPTS = 3;

async function cutOff(
  env: TokenEnv,
  after: StoredClient,
  mark: string,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<StoredClient> {
  await revokeClientTokens(env, after, "client narrowed", waitUntil);
  try {
    await clearPendingCutoff(env.DB, after.clientId, mark);
  } catch (error) {
    // Recorded already: a mark left behind costs the next change one more cut-off, nothing else.
    console.error("client cut-off recorded, its mark not cleared", after.clientId, error);
  }
  return after;
}
