import { and, count, eq, inArray } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { base64url } from "jose";
import {
  MAX_SSF_STREAMS_PER_ORG,
  type SsfDeliveryMethod,
  type SsfStreamStatus,
} from "../../../../shared/contracts/ssf.ts";
import { ssfStream, ssfStreamExclusion } from "../../../../shared/db/ssf-schema.ts";
import { HttpError } from "../../../../shared/errors/http.ts";

/** One stream as the transmitter works with it (shared/db/ssf-schema.ts). */
export interface StreamRecord {
  streamId: string;
  orgId: string;
  createdBy: string;
  audience: string[];
  eventsRequested: string[];
  eventsDelivered: string[];
  method: SsfDeliveryMethod;
  endpointUrl: string | null;
  authorizationSealed: string | null;
  description: string | null;
  status: SsfStreamStatus;
  statusReason: string | null;
}

/** What a receiver sets (create, replace, update). */
export type StreamSettings = Pick<
  StreamRecord,
  "eventsRequested" | "eventsDelivered" | "method" | "endpointUrl" | "authorizationSealed" | "description"
>;

type Row = typeof ssfStream.$inferSelect;

/** Logged, and answered for a stream whose stored configuration cannot be read. */
export const STREAM_CONFIG_UNREADABLE = "ERR_STREAM_CONFIG_UNREADABLE";

/** A create whose `aud` another org's stream already names: 409 `conflict` (heldElsewhere). */
export const SSF_AUDIENCE_TAKEN = "ERR_SSF_AUDIENCE_TAKEN";

/**
 * SQL true when a stream of another org (the first `?`) names one of the
 * audiences in the JSON list (the second `?`). SSF 1.0 §8.1.1: `aud`
 * identifies the stream's receiver, and a receiver that checks our
 * signature, `iss` and its own `aud` cannot tell whose events a SET carries
 * (only `tenant`, inside `sub_id`, says so, and nothing obliges it to read
 * that): two orgs' streams to one `aud` would mix their events at one
 * receiver, and the second org would choose what that receiver is told
 * (any subject its admins revoke, signed by us). So an `aud` value is one
 * org's while any stream of that org names it; that org may name it in
 * several streams. Compared loosely (case and a trailing `/` ignored), so
 * a receiver that normalises URLs is not reached through a spelling
 * variant either; RFC 7519 §4.1.3 compares exactly, and a stricter match
 * here only refuses more. Rows whose `audience` is not JSON (damaged,
 * ERR_STREAM_CONFIG_UNREADABLE) are skipped, so one cannot fail every
 * org's creates.
 */
const HELD_ELSEWHERE_SQL = `EXISTS (
  SELECT 1 FROM (SELECT audience FROM ssf_stream WHERE org_id <> ? AND json_valid(audience)) AS held,
    json_each(held.audience) AS named
  WHERE rtrim(lower(named.value), '/') IN (SELECT rtrim(lower(value), '/') FROM json_each(?)))`;

/**
 * A stream row whose list columns are not JSON lists of strings (damaged, or
 * written around the API): the stream's own failure, never its org's.
 */
export class UnreadableStreamError extends Error {
  constructor(
    readonly streamId: string,
    readonly orgId: string,
    column: string,
  ) {
    super(`${STREAM_CONFIG_UNREADABLE}: stream ${streamId}: ${column} is not a JSON list of strings`);
    this.name = "UnreadableStreamError";
  }
}

function stringList(row: Row, column: "audience" | "eventsRequested" | "eventsDelivered"): string[] {
  let value: unknown;
  try {
    value = JSON.parse(row[column]);
  } catch {
    throw new UnreadableStreamError(row.streamId, row.orgId, column);
  }
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    throw new UnreadableStreamError(row.streamId, row.orgId, column);
  }
  return value;
}

function fromRow(row: Row): StreamRecord {
  return {
    streamId: row.streamId,
    orgId: row.orgId,
    createdBy: row.createdBy,
    audience: stringList(row, "audience"),
    eventsRequested: stringList(row, "eventsRequested"),
    eventsDelivered: stringList(row, "eventsDelivered"),
    method: row.deliveryMethod,
    endpointUrl: row.endpointUrl,
    authorizationSealed: row.authorizationSealed,
    description: row.description,
    status: row.status,
    statusReason: row.statusReason,
  };
}

/** `ssf_` + 22 base64url characters (128 random bits): unguessable, never reused. */
export function newStreamId(): string {
  return `ssf_${base64url.encode(crypto.getRandomValues(new Uint8Array(16)))}`;
}

/**
 * Creates a stream, enabled (SSF 1.0 §8.1.1.1). An org holds at most
 * MAX_SSF_STREAMS_PER_ORG, and an `aud` another org's stream names is not
 * its to name (HELD_ELSEWHERE_SQL): both are checked in the insert's own
 * conditional statement, so racing creates can pass neither (409
 * `conflict`, ERR_SSF_AUDIENCE_TAKEN for the second).
 */
export async function insertStream(
  db: D1Database,
  stream: Omit<StreamRecord, "status" | "statusReason">,
): Promise<StreamRecord> {
  const now = Date.now();
  const result = await db
    .prepare(
      `INSERT INTO ssf_stream (stream_id, org_id, created_by, audience, events_requested, events_delivered,
         delivery_method, endpoint_url, authorization_sealed, description, status, status_reason, created_at, updated_at)
       SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'enabled', NULL, ?, ?
       WHERE (SELECT count(*) FROM ssf_stream WHERE org_id = ?) < ? AND NOT ${HELD_ELSEWHERE_SQL}`,
    )
    .bind(
      stream.streamId,
      stream.orgId,
      stream.createdBy,
      JSON.stringify(stream.audience),
      JSON.stringify(stream.eventsRequested),
      JSON.stringify(stream.eventsDelivered),
      stream.method,
      stream.endpointUrl,
      stream.authorizationSealed,
      stream.description,
      now,
      now,
      stream.orgId,
      MAX_SSF_STREAMS_PER_ORG,
      stream.orgId,
      JSON.stringify(stream.audience),
    )
    .run();
  if (result.meta.changes !== 1) {
    if (await heldElsewhere(db, stream.orgId, stream.audience)) {
      throw new HttpError(
        "conflict",
        `${SSF_AUDIENCE_TAKEN}: aud: another organization's stream already serves this receiver`,
      );
    }
    throw new HttpError("conflict", `an organization holds at most ${MAX_SSF_STREAMS_PER_ORG} streams`);
  }
  return { ...stream, status: "enabled", statusReason: null };
}

/**
 * The first of `audience` that is the client id of a client outside `orgId`
 * (another org's, or a platform client), if any. A receiver's SETs carry its
 * client id as `aud` unless it names another (ssf/stream-settings.ts), so
 * such an `aud` would have this org's events signed as that receiver's.
 */
export async function foreignClientAudience(
  db: D1Database,
  orgId: string,
  audience: readonly string[],
): Promise<string | undefined> {
  const row = await db
    .prepare(
      `SELECT client_id FROM oauth_client
       WHERE client_id IN (SELECT value FROM json_each(?)) AND org_id IS NOT ? LIMIT 1`,
    )
    .bind(JSON.stringify(audience), orgId)
    .first<{ client_id: string }>();
  return row?.client_id;
}

/** Whether a stream of another org names one of `audience` (HELD_ELSEWHERE_SQL). */
async function heldElsewhere(db: D1Database, orgId: string, audience: readonly string[]): Promise<boolean> {
  const row = await db
    .prepare(`SELECT ${HELD_ELSEWHERE_SQL} AS held`)
    .bind(orgId, JSON.stringify(audience))
    .first<{ held: number }>();
  return row?.held === 1;
}

/** The stream, if any; UnreadableStreamError for one whose stored configuration cannot be read. */
export async function findStream(db: D1Database, streamId: string): Promise<StreamRecord | undefined> {
  if (!/^ssf_[A-Za-z0-9_-]{22}$/.test(streamId)) return undefined;
  const row = await drizzle(db).select().from(ssfStream).where(eq(ssfStream.streamId, streamId)).get();
  return row ? fromRow(row) : undefined;
}

/**
 * The org's streams that can be read. A damaged row is logged and left out, so
 * it stops only its own stream: thrown, it broke every stream's feed in the org.
 */
export async function listStreams(db: D1Database, orgId: string): Promise<StreamRecord[]> {
  const rows = await drizzle(db).select().from(ssfStream).where(eq(ssfStream.orgId, orgId)).all();
  const streams: StreamRecord[] = [];
  for (const row of rows) {
    try {
      streams.push(fromRow(row));
    } catch (error) {
      if (!(error instanceof UnreadableStreamError)) throw error;
      console.error(error.message);
    }
  }
  return streams;
}

/** The streams of an org that still take events (enabled or paused), with their excluded subjects. */
export async function liveStreams(
  db: D1Database,
  orgId: string,
): Promise<{ stream: StreamRecord; excluded: Set<string> }[]> {
  const streams = (await listStreams(db, orgId)).filter((s) => s.status !== "disabled");
  if (streams.length === 0) return [];
  const rows = await drizzle(db)
    .select({ streamId: ssfStreamExclusion.streamId, subject: ssfStreamExclusion.subject })
    .from(ssfStreamExclusion)
    .innerJoin(ssfStream, eq(ssfStream.streamId, ssfStreamExclusion.streamId))
    .where(eq(ssfStream.orgId, orgId))
    .all();
  return streams.map((stream) => ({
    stream,
    excluded: new Set(rows.filter((r) => r.streamId === stream.streamId).map((r) => r.subject)),
  }));
}

export async function updateStreamSettings(db: D1Database, streamId: string, settings: StreamSettings): Promise<void> {
  await drizzle(db)
    .update(ssfStream)
    .set({
      eventsRequested: JSON.stringify(settings.eventsRequested),
      eventsDelivered: JSON.stringify(settings.eventsDelivered),
      deliveryMethod: settings.method,
      endpointUrl: settings.endpointUrl,
      authorizationSealed: settings.authorizationSealed,
      description: settings.description,
      updatedAt: new Date(),
    })
    .where(eq(ssfStream.streamId, streamId))
    .run();
}

export async function updateStreamStatus(
  db: D1Database,
  streamId: string,
  status: SsfStreamStatus,
  reason: string | null,
): Promise<void> {
  await drizzle(db)
    .update(ssfStream)
    .set({ status, statusReason: reason, updatedAt: new Date() })
    .where(eq(ssfStream.streamId, streamId))
    .run();
}

/** Deletes a stream and its exclusions in one batch. */
export async function deleteStream(db: D1Database, streamId: string): Promise<void> {
  const d = drizzle(db);
  await d.batch([
    d.delete(ssfStreamExclusion).where(eq(ssfStreamExclusion.streamId, streamId)),
    d.delete(ssfStream).where(eq(ssfStream.streamId, streamId)),
  ]);
}

/** How many of an org's streams still take events (enabled or paused). */
export async function countLiveStreams(db: D1Database, orgId: string): Promise<number> {
  const row = await drizzle(db)
    .select({ n: count() })
    .from(ssfStream)
    .where(and(eq(ssfStream.orgId, orgId), inArray(ssfStream.status, ["enabled", "paused"])))
    .get();
  return row?.n ?? 0;
}

/** The most subjects one stream may have removed. */
const MAX_EXCLUSIONS_PER_STREAM = 1000;

/**
 * SSF 1.0 §8.1.3.3: the receiver no longer wants events about `subject`
 * (canonical JSON). The count and the insert are one statement, so racing
 * removals cannot pass MAX_EXCLUSIONS_PER_STREAM (409 `conflict`).
 */
export async function excludeSubject(db: D1Database, streamId: string, subject: string): Promise<void> {
  const result = await db
    .prepare(
      `INSERT OR IGNORE INTO ssf_stream_exclusion (stream_id, subject, created_at)
       SELECT ?, ?, ? WHERE (SELECT count(*) FROM ssf_stream_exclusion WHERE stream_id = ?) < ?`,
    )
    .bind(streamId, subject, Date.now(), streamId, MAX_EXCLUSIONS_PER_STREAM)
    .run();
  if (result.meta.changes === 0) {
    const already = await db
      .prepare("SELECT 1 FROM ssf_stream_exclusion WHERE stream_id = ? AND subject = ?")
      .bind(streamId, subject)
      .first();
    if (!already) {
      throw new HttpError("conflict", `a stream removes at most ${MAX_EXCLUSIONS_PER_STREAM} subjects`);
    }
  }
}

/** SSF 1.0 §8.1.3.2: events about `subject` flow again (streams carry every subject by default). */
export async function includeSubject(db: D1Database, streamId: string, subject: string): Promise<void> {
  await drizzle(db)
    .delete(ssfStreamExclusion)
    .where(and(eq(ssfStreamExclusion.streamId, streamId), eq(ssfStreamExclusion.subject, subject)))
    .run();
}
