import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { SignJWT } from "jose";
import { ACCESS_EVENT_JWT_TYP, type AccessEventType } from "../../../../shared/contracts/mcp.ts";
import { SIGNING_ALG } from "../../../../shared/contracts/tokens.ts";
import { mcpWebhook } from "../../../../shared/db/mcp-schema.ts";
import type { TokenConfig } from "../config.ts";
import { currentSigningKey, keyStore } from "../keys/signing-keys.ts";
import { scheduleRetry, sendWebhook, type WebhookDelivery, webhookTransport } from "./webhook-delivery.ts";

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
 * Delivery is off the request's path (waitUntil): the first attempt at
 * once, then retries with a bounded backoff through a Queue, the same body
 * and `Webhook-Id` each time, until delivered or given up on and audited
 * (webhook-delivery.ts). The access request and the audit trail are the
 * record; the webhook only tells someone to look.
 */

export type AccessEventPayload = Record<string, unknown>;

export interface NotifyDeps {
  env: TokenEnv;
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
  jti: string = crypto.randomUUID(),
): Promise<string> {
  const key = await currentSigningKey(keyStore(deps.env, deps.config));
  return new SignJWT({ org_id: orgId, events: { [type]: payload } })
    .setProtectedHeader({ alg: SIGNING_ALG, typ: ACCESS_EVENT_JWT_TYP, kid: key.kid })
    .setIssuer(deps.config.issuer)
    .setAudience(audience)
    .setIssuedAt()
    .setJti(jti)
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
    // The event's jti is its delivery id: one id for every attempt, so a receiver can drop repeats.
    const deliveryId = crypto.randomUUID();
    const body = await signAccessEvent(deps, url, orgId, type, payload, deliveryId);
    const delivery: WebhookDelivery = { delivery_id: deliveryId, org_id: orgId, event: type, url, body };
    const transport = deps.fetch ? { fetch: deps.fetch } : webhookTransport(deps.env);
    const error = await sendWebhook(transport, delivery);
    if (error !== undefined) {
      console.warn("access webhook not delivered, will retry", orgId, type, error);
      await scheduleRetry(deps.env, delivery, error);
    }
  } catch (error) {
    console.warn("access webhook not delivered", orgId, type, error);
  }
}
