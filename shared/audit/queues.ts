/**
 * The audit queues, as named in workers/token/wrangler.toml. Events that the
 * consumer could not write after its retries move to the dead-letter queue,
 * which the same Worker consumes with the same idempotent writer.
 */
export const AUDIT_QUEUE_NAME = "mono-auth-audit";
export const AUDIT_DEAD_LETTER_QUEUE_NAME = "mono-auth-audit-dlq";
