import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { SignJWT } from "jose";
import { ACCESS_EVENT_JWT_TYP, type AccessEventType } from "../../../../shared/contracts/mcp.ts";
import { SIGNING_ALG } from "../../../../shared/contracts/tokens.ts";
import { mcpWebhook } from "../../../../shared/db/mcp-schema.ts";
import type { TokenConfig } from "../config.ts";
import { currentSigningKey, keyStore } from "../keys/signing-keys.ts";

/**
 * Notifications of access requests and decisions: each org may name one
 * https URL (admin/access-requests.ts, `PUT /orgs/{org}/access-webhook`),
 * which receives a POST per event whose body is a JWS (RFC 7515 compact,
 * `Content-Type: application/jwt`) signed with the issuer's current key —
 * the same JWKS as its tokens, so a receiver verifies with the public
 * `/.well-known/jwks.json` and keeps no shared secret, and we store none.
 * The claims follow RFC 8417's Security Event Token shape: `iss`, `aud`
 * (the webhook URL), `iat`, `jti`, and `events` holding one event type with
 * its payload; the header's `typ` is ACCESS_EVENT_JWT_TYP, so it can never
 * pass as an access token (RFC 8725 §3.11).
 *
 * Delivery is best effort, once, within DELIVERY_TIMEOUT_MS, off the
 * request's path (waitUntil): the access request and the audit trail are
 * the record; the webhook only tells someone to look.
 */
export const DELIVERY_TIMEOUT_MS = 5_000;

export type AccessEventPayload = Record<string, unknown>;

export interface NotifyDeps {
  env: Pick<TokenEnv, "DB" | "KV">;
  config: TokenConfig;
  /** The network; tests pass a receiver of their own. */
  fetch?: typeof fetch;
}

export async function webhookUrl(db: D1Database, orgId: string): Promise<string | undefined> {
  const row = await drizzle(db).select().from(mcpWebhook).where(eq(mcpWebhook.orgId, orgId)).get();
  return row?.url;
}

export async function setWebhookUrl(db: D1Database, orgId: string, url: string | null): Promise<void> {
  const orm = drizzle(db);
  if (url === null) {
    await orm.delete(mcpWebhook).where(eq(mcpWebhook.orgId, orgId));
    return;
  }
  const now = new Date();
  await orm
    .insert(mcpWebhook)
    .values({ orgId, url, createdAt: now, updatedAt: now })
    .onConflictDoUpdate({ target: mcpWebhook.orgId, set: { url, updatedAt: now } });
}

/** The signed notification for one event (exported for tests and receivers' examples). */
export async function signAccessEvent(
  deps: NotifyDeps,
  audience: string,
  orgId: string,
  type: AccessEventType,
  payload: AccessEventPayload,
): Promise<string> {
  const key = await currentSigningKey(keyStore(deps.env, deps.config));
  return new SignJWT({ org_id: orgId, events: { [type]: payload } })
    .setProtectedHeader({ alg: SIGNING_ALG, typ: ACCESS_EVENT_JWT_TYP, kid: key.kid })
    .setIssuer(deps.config.issuer)
    .setAudience(audience)
    .setIssuedAt()
    .setJti(crypto.randomUUID())
    .sign(key.privateKey);
}

/** Sends the event to the org's webhook, if it has one; never throws (logged instead). */
export async function notifyAccessEvent(
  deps: NotifyDeps,
  orgId: string,
  type: AccessEventType,
  payload: AccessEventPayload,
): Promise<void> {
  try {
    const url = await webhookUrl(deps.env.DB, orgId);
    if (!url) return;
    const body = await signAccessEvent(deps, url, orgId, type, payload);
    const send = deps.fetch ?? fetch;
    const response = await send(url, {
      method: "POST",
      headers: { "Content-Type": "application/jwt" },
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    });
    if (!response.ok) console.warn("access webhook refused", orgId, type, response.status);
    await response.body?.cancel();
  } catch (error) {
    console.warn("access webhook not delivered", orgId, type, error);
  }
}
