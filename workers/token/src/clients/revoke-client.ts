import { PLATFORM_ORG_ID } from "../../../../shared/contracts/tokens.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import { recordRevocation } from "../../../../shared/revocation/record-revocation.ts";
import type { ClientRegistration } from "./types.ts";

/**
 * Cuts off every token the client holds (a `client` revocation: tokens
 * issued at or before now, shared/contracts/revocation.ts), in its org's
 * Durable Object first (shared/revocation/record-revocation.ts). Resolves
 * only once it is recorded; otherwise 503 `temporarily_unavailable`, so the
 * caller reports no success and the operator retries (every caller is
 * idempotent).
 */
export async function revokeClientTokens(
  env: TokenEnv,
  client: Pick<ClientRegistration, "clientId" | "orgId">,
  reason: string,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<void> {
  try {
    await recordRevocation(
      env,
      { orgId: client.orgId ?? PLATFORM_ORG_ID, kind: "client", value: client.clientId, reason },
      { waitUntil },
    );
  } catch (error) {
    console.error("client revocation not recorded", client.clientId, error);
    throw new HttpError("temporarily_unavailable", "the client's tokens could not be revoked yet; retry");
  }
}
