import type { AuditRecord } from "../../../shared/audit/audit-record.ts";
import { app } from "./app.ts";
import { consumeAuditBatch } from "./audit-consumer.ts";
import { ACCESS_WEBHOOK_QUEUE, consumeWebhookDeliveries, type WebhookDelivery } from "./mcp/webhook-delivery.ts";
import { onSchedule } from "./scheduled.ts";

export { TokenService } from "./rpc/token-service.ts";
export { ConsoleAdmin } from "./admin/console-entrypoint.ts";
export { McpRegistryService } from "./mcp/registry-service.ts";
export { VaultService } from "./vault/vault-service.ts";
export { SsfTransmitter } from "./ssf/transmitter.ts";

export default {
  fetch: app.fetch,
  // Two queues: access webhooks to retry (wrangler.toml), and audit events (with their dead letters).
  queue: (batch, env) =>
    batch.queue === ACCESS_WEBHOOK_QUEUE
      ? consumeWebhookDeliveries(batch as unknown as MessageBatch<WebhookDelivery>, env)
      : consumeAuditBatch(batch, env),
  scheduled: onSchedule,
} satisfies ExportedHandler<TokenEnv, AuditRecord>;
