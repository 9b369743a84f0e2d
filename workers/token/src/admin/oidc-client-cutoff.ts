import type { Context } from "hono";
import { HttpError } from "../../../../shared/errors/http.ts";
import { browserClientOrgs, endBrowserClientTokens } from "../oidc/browser-client-store.ts";
import { recordOperatorRevocation } from "../revocations/operator-revoke.ts";
import type { AdminEnv } from "./types.ts";

/**
 * Cuts a browser client off, once its row is disabled (the caller writes
 * that first, so from then on the provider refuses it at the authorization
 * endpoint and at every grant): its refresh tokens are marked revoked and
 * its opaque access tokens deleted, then a `client` revocation is recorded
 * in every org it was authorized for, so its JWT access tokens (each
 * carries `client_id`, checked at the gateway, shared/revocation/
 * is-token-revoked.ts) stop before they expire, then the D1 step again: a
 * refresh that read the client just before it was disabled may have
 * rotated its token in between. Each step completes before this resolves;
 * one that cannot is 503 `temporarily_unavailable` and nothing after it
 * runs, so no answer reports a success that left a token working, and a
 * retry (every step is harmless twice) converges.
 */
export async function cutOffBrowserClient(c: Context<AdminEnv>, clientId: string, reason: string): Promise<string[]> {
  const orgIds = await browserClientOrgs(c.env.DB, clientId);
  await endTokens(c.env.DB, clientId, reason);
  for (const orgId of orgIds) {
    await recordOperatorRevocation(c.env, { orgId, kind: "client", value: clientId, reason }, (p) =>
      c.executionCtx.waitUntil(p),
    );
  }
  await endTokens(c.env.DB, clientId, reason);
  return orgIds;
}

async function endTokens(db: D1Database, clientId: string, reason: string): Promise<void> {
  try {
    await endBrowserClientTokens(db, clientId);
  } catch (error) {
    console.error(`browser client tokens not revoked (${reason})`, error);
    throw new HttpError("temporarily_unavailable", "the client's OAuth tokens could not be revoked; retry");
  }
}
