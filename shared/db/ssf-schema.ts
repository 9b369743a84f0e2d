/**
 * Shared Signals streams (workers/token/src/ssf/). A stream is one
 * receiver's subscription to one org's security events: its configuration
 * and status live here; the events waiting for it and their delivery state
 * live in the org's SsfTransmitter Durable Object (workers/token/src/ssf/
 * transmitter.ts), strongly consistent and per org, so a mass revocation
 * never becomes a burst of D1 writes.
 */
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const ssfStream = sqliteTable(
  "ssf_stream",
  {
    /** `ssf_` + 22 random base64url characters (transmitter-supplied, SSF 1.0 §8.1.1). */
    streamId: text("stream_id").primaryKey(),
    orgId: text("org_id").notNull(),
    /** The client (or operator) that created it. */
    createdBy: text("created_by").notNull(),
    /** The SETs' `aud` (RFC 8417 §2.2): a JSON array of one or more strings. */
    audience: text("audience").notNull(),
    /** JSON arrays of event type URIs. */
    eventsRequested: text("events_requested").notNull(),
    eventsDelivered: text("events_delivered").notNull(),
    deliveryMethod: text("delivery_method", { enum: ["urn:ietf:rfc:8935", "urn:ietf:rfc:8936"] }).notNull(),
    /** Push: the receiver's endpoint. Poll: null (ours is derived from the stream id). */
    endpointUrl: text("endpoint_url"),
    /**
     * Push: the `Authorization` header value the receiver asked us to send
     * (RFC 8935 §2), sealed like the signing keys (AES-256-GCM, the stream
     * id as associated data); never answered back.
     */
    authorizationSealed: text("authorization_sealed"),
    description: text("description"),
    status: text("status", { enum: ["enabled", "paused", "disabled"] }).notNull(),
    statusReason: text("status_reason"),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
  },
  (table) => [index("ssf_stream_org").on(table.orgId)],
);

/**
 * Subjects a receiver removed from its stream (SSF 1.0 §8.1.3.3). Streams
 * carry every subject of the org by default (`default_subjects: ALL`), so
 * removing one records it here and adding it back deletes the row.
 */
export const ssfStreamExclusion = sqliteTable(
  "ssf_stream_exclusion",
  {
    streamId: text("stream_id").notNull(),
    /** The subject identifier as canonical JSON (sorted keys). */
    subject: text("subject").notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  },
  (table) => [primaryKey({ columns: [table.streamId, table.subject] })],
);
