import { recordAuditInBackground } from "../../../../shared/audit/record-audit.ts";
import type { AccessEventType } from "../../../../shared/contracts/mcp.ts";
import { OUTBOUND_URL_FORBIDDEN, publicOutboundUrlProblem } from "../../../../shared/http/outbound-url.ts";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { mcpWebhook } from "../../../../shared/db/mcp-schema.ts";
import { tokenConfig } from "../config.ts";

/**
 * Delivery of the org's access-event webhook (notify.ts), with retries: the
 * first attempt is made at once, off the request's path; a failure goes to
 * the ACCESS_WEBHOOK_QUEUE (wrangler.toml), whose consumer below tries again
 * after a bounded exponential backoff (ACCESS_WEBHOOK_RETRY_BASE_SECONDS,
 * doubled per failure, at most an hour apart) until MAX_WEBHOOK_ATTEMPTS
 * attempts in all, then gives up and says so in the audit trail
 * (`mcp.webhook`, outcome `refused`). A Queue rather than a Durable Object
 * (the SSF outbox, ssf/outbox.ts): deliveries are independent of each other
 * and of order, and the queue holds them durably across isolates.
 *
 * Every attempt of one event carries the same body and the same
 * `Webhook-Id` (the JWS's `jti`), so a receiver that got an attempt whose
 * answer was lost drops the repeat (Standard Webhooks' `webhook-id`).
 */
export const MAX_WEBHOOK_ATTEMPTS = 6;
/** Why a queued retry was dropped unsent: the org's webhook URL is no longer the one it was signed for. */
export const WEBHOOK_URL_CHANGED = "ERR_WEBHOOK_URL_CHANGED";
/** The queue's name in wrangler.toml, which the Worker's one queue handler dispatches on (index.ts). */
export const ACCESS_WEBHOOK_QUEUE = "mono-auth-access-webhooks";
/** A receiver that does not answer in this long is tried again later. */
export const WEBHOOK_TIMEOUT_MS = 5_000;
const MAX_BACKOFF_SECONDS = 3600;

/** What the queue holds: the signed event, ready to send again as it was. */
export interface WebhookDelivery {
  delivery_id: string;
  org_id: string;
  event: AccessEventType;
  url: string;
  body: string;
}

/** How webhooks leave the Worker: `fetch`, or an egress service (ACCESS_WEBHOOK_OUTBOUND, like SSF_PUSH_OUTBOUND). */
export type WebhookTransport = Pick<Fetcher, "fetch">;

export function webhookTransport(env: TokenEnv): WebhookTransport {
  const outbound = (env as TokenEnv & { ACCESS_WEBHOOK_OUTBOUND?: Fetcher }).ACCESS_WEBHOOK_OUTBOUND;
  return outbound ?? { fetch: (input, init) => fetch(input, init) };
}

/** The wait before attempt n+1 after n failures: base, 2 × base, 4 × base, … at most an hour. */
export function webhookBackoffSeconds(failures: number, baseSeconds: number): number {
  return Math.min(baseSeconds * 2 ** Math.max(0, failures - 1), MAX_BACKOFF_SECONDS);
}

/** One attempt: any 2xx is delivered; anything else (network, timeout, a redirect, 4xx, 5xx) is an error to retry. */
export async function sendWebhook(transport: WebhookTransport, delivery: WebhookDelivery): Promise<string | undefined> {
  // Checked when set (mcp/public-url.ts); again here, so a row stored before that check, or written
  // around the admin API, never sends a signed event to an internal address.
  if (publicOutboundUrlProblem(delivery.url) !== undefined) return OUTBOUND_URL_FORBIDDEN;
  try {
    const response = await transport.fetch(delivery.url, {
      method: "POST",
      headers: { "Content-Type": "application/jwt", "Webhook-Id": delivery.delivery_id },
      body: delivery.body,
      // The URL is what the org's admin registered (mcp/public-url.ts); a redirect could lead anywhere.
      redirect: "manual",
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    });
    await response.body?.cancel();
    return response.status >= 200 && response.status < 300 ? undefined : `HTTP ${response.status}`;
  } catch (error) {
    return error instanceof Error ? error.name : "network error";
  }
}

function gaveUp(env: TokenEnv, delivery: WebhookDelivery, attempts: number, error: string): Promise<void> {
  return recordAuditInBackground(env, {
    kind: "mcp.webhook",
    outcome: "refused",
    orgId: delivery.org_id,
    detail: { action: "gave_up", delivery_id: delivery.delivery_id, event: delivery.event, attempts, error },
  });
}

/** A retry the org's webhook no longer covers (the URL replaced or removed since): dropped unsent, and audited. */
function abandoned(env: TokenEnv, delivery: WebhookDelivery, attempts: number): Promise<void> {
  return recordAuditInBackground(env, {
    kind: "mcp.webhook",
    outcome: "refused",
    orgId: delivery.org_id,
    detail: {
      action: "abandoned",
      delivery_id: delivery.delivery_id,
      event: delivery.event,
      attempts,
      error: WEBHOOK_URL_CHANGED,
    },
  });
}

/** The org's webhook URL now (mcp_webhook), read from D1 for each retry. */
async function currentWebhookUrl(db: D1Database, orgId: string): Promise<string | undefined> {
  const row = await drizzle(db)
    .select({ url: mcpWebhook.url })
    .from(mcpWebhook)
    .where(eq(mcpWebhook.orgId, orgId))
    .get();
  return row?.url;
}

/** After the first attempt failed: queued for the next one, or given up on when the queue will not take it. */
export async function scheduleRetry(env: TokenEnv, delivery: WebhookDelivery, error: string): Promise<void> {
  const base = tokenConfig(env).accessWebhookRetryBaseSeconds;
  try {
    await env.ACCESS_WEBHOOK_QUEUE.send(delivery, { delaySeconds: webhookBackoffSeconds(1, base) });
  } catch (queueError) {
    console.error("access webhook retry not queued", delivery.org_id, queueError);
    await gaveUp(env, delivery, 1, error);
  }
}

/**
 * The ACCESS_WEBHOOK_QUEUE consumer: each message is one more attempt
 * (`message.attempts` counts the queue's deliveries, after the first
 * attempt made at once). Never throws: every message is acked or retried
 * by name, so one receiver's failure does not hold back another's.
 */
export async function consumeWebhookDeliveries(batch: MessageBatch<WebhookDelivery>, env: TokenEnv): Promise<void> {
  const transport = webhookTransport(env);
  const base = tokenConfig(env).accessWebhookRetryBaseSeconds;
  for (const message of batch.messages) {
    const delivery = message.body;
    const attempt = message.attempts + 1;
    // Only to the URL the org still names: one it replaced or removed since (a receiver retired, its
    // domain let go) gets nothing more, as a new event would not go there. The body's `aud` is the
    // old URL, so it is dropped, not redirected.
    if ((await currentWebhookUrl(env.DB, delivery.org_id)) !== delivery.url) {
      await abandoned(env, delivery, attempt - 1);
      message.ack();
      continue;
    }
    const error = await sendWebhook(transport, delivery);
    if (error === undefined) {
      message.ack();
      continue;
    }
    if (attempt >= MAX_WEBHOOK_ATTEMPTS) {
      await gaveUp(env, delivery, attempt, error);
      message.ack();
      continue;
    }
    message.retry({ delaySeconds: webhookBackoffSeconds(attempt, base) });
  }
}
