import {
  SSF_DELIVERY,
  SSF_EVENT,
  SSF_STREAM_STATUSES,
  type SsfStreamConfiguration,
  type SsfStreamStatus,
  type SsfStreamStatusBody,
  ssfTransmitterName,
} from "../../../../shared/contracts/ssf.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import { tokenConfig } from "../config.ts";
import { keyStore } from "../keys/signing-keys.ts";
import { MIN_VERIFICATION_INTERVAL_SECONDS, streamConfiguration } from "./configuration.ts";
import type { SecurityEvent } from "./revocation-events.ts";
import { signSecurityEvent } from "./security-event-token.ts";
import { parseAudience, parseStreamSettings } from "./stream-settings.ts";
import { LONG_POLL_MAX_MS } from "./transmitter.ts";
import {
  deleteStream,
  excludeSubject,
  findStream,
  foreignClientAudience,
  includeSubject,
  insertStream,
  listStreams,
  newStreamId,
  STREAM_CONFIG_UNREADABLE,
  type StreamRecord,
  UnreadableStreamError,
  updateStreamSettings,
  updateStreamStatus,
} from "./stream-store.ts";
import { canonicalSubject, parseSubject } from "./subjects.ts";

type Body = Record<string, unknown>;
const MAX_REASON_LENGTH = 256;
const MAX_STATE_LENGTH = 256;

/**
 * The stream operations of SSF 1.0 §8.1, for one org: the spec's endpoints
 * (ssf/routes.ts, the org taken from the client's token) and the admin API
 * (admin/ssf-streams.ts, the org from the path, for operators) both call
 * these. Each change is written to D1 first, then the org's transmitter
 * object is told; a stream of another org is 404 `not_found`, as an
 * unknown one (stream() below).
 */
export class StreamOperations {
  constructor(
    private readonly env: TokenEnv,
    private readonly orgId: string,
  ) {}

  private get issuer(): string {
    return tokenConfig(this.env).issuer;
  }

  private transmitter() {
    return this.env.SSF_TRANSMITTER.getByName(ssfTransmitterName(this.orgId));
  }

  /** SSF 1.0 §8.1.1.1. */
  async create(body: Body, createdBy: string): Promise<SsfStreamConfiguration> {
    const streamId = newStreamId();
    const config = tokenConfig(this.env);
    const audience = parseAudience(body.aud, createdBy);
    // SSF 1.0 §8.1.1: `aud` identifies the stream's receiver; a receiver that checks our signature,
    // `iss` and its own `aud` would take this org's SETs (any subject its admins revoke) as its own.
    if ((await foreignClientAudience(this.env.DB, this.orgId, audience)) !== undefined) {
      throw new HttpError("invalid_body", "aud: names a client of another organization, whose receiver it identifies");
    }
    const settings = await parseStreamSettings(
      { ...body, aud: undefined },
      { issuer: config.issuer, streamId, sealingSecret: config.keyEncryptionSecret },
    );
    const stream = await insertStream(this.env.DB, { streamId, orgId: this.orgId, createdBy, audience, ...settings });
    await this.tellTransmitter((t) => t.start(this.orgId));
    return streamConfiguration(this.issuer, stream);
  }

  /**
   * The org's stream, or 404 `not_found`: another org's stream is answered
   * like one that does not exist, as every other noun answers another org's
   * id, so a caller learns nothing of which ids other orgs hold.
   */
  async stream(streamId: unknown): Promise<StreamRecord> {
    const stream = await this.ownStream(streamId);
    if (stream === STREAM_CONFIG_UNREADABLE) {
      // Not a 500: the row will not heal by retrying; it can still be deleted (remove).
      throw new HttpError(
        "conflict",
        `${STREAM_CONFIG_UNREADABLE}: the stream's stored configuration cannot be read; delete it and create it again`,
      );
    }
    return stream;
  }

  /** The org's stream, or STREAM_CONFIG_UNREADABLE for one of its rows that cannot be read; else 404 as stream(). */
  private async ownStream(streamId: unknown): Promise<StreamRecord | typeof STREAM_CONFIG_UNREADABLE> {
    if (typeof streamId !== "string" || streamId === "") throw new HttpError("invalid_body", "stream_id: required");
    let stream: StreamRecord | undefined;
    try {
      stream = await findStream(this.env.DB, streamId);
    } catch (error) {
      if (!(error instanceof UnreadableStreamError)) throw error;
      console.error(error.message);
      if (error.orgId !== this.orgId) throw new HttpError("not_found", "no such stream");
      return STREAM_CONFIG_UNREADABLE;
    }
    if (!stream || stream.orgId !== this.orgId) throw new HttpError("not_found", "no such stream");
    return stream;
  }

  /** SSF 1.0 §8.1.1.2: one stream, or all of the org's. */
  async read(streamId: string | undefined): Promise<SsfStreamConfiguration | SsfStreamConfiguration[]> {
    if (streamId !== undefined) return streamConfiguration(this.issuer, await this.stream(streamId));
    return (await listStreams(this.env.DB, this.orgId)).map((s) => streamConfiguration(this.issuer, s));
  }

  /** SSF 1.0 §8.1.1.3 (PATCH, `replace` false) and §8.1.1.4 (PUT, `replace` true). */
  async update(body: Body, replace: boolean): Promise<SsfStreamConfiguration> {
    const stream = await this.stream(body.stream_id);
    const config = tokenConfig(this.env);
    const settings = await parseStreamSettings(
      body,
      { issuer: config.issuer, streamId: stream.streamId, sealingSecret: config.keyEncryptionSecret },
      replace ? undefined : stream,
    );
    await updateStreamSettings(this.env.DB, stream.streamId, settings);
    if (settings.method !== stream.method) {
      await this.tellTransmitter((t) => t.methodChanged(stream.streamId, settings.method === SSF_DELIVERY.push));
    }
    return streamConfiguration(this.issuer, { ...stream, ...settings });
  }

  /** SSF 1.0 §8.1.1.5. */
  async remove(streamId: string | undefined): Promise<void> {
    // A stream whose row cannot be read is still the org's to delete: the way out of that state.
    const stream = await this.ownStream(streamId);
    const id = stream === STREAM_CONFIG_UNREADABLE ? (streamId as string) : stream.streamId;
    await deleteStream(this.env.DB, id);
    await this.tellTransmitter(async (t) => {
      await t.dropStream(id);
      await t.stop(this.orgId);
    });
  }

  /** SSF 1.0 §8.1.2.1. */
  async status(streamId: string | undefined): Promise<SsfStreamStatusBody> {
    const stream = await this.stream(streamId);
    return statusBody(stream);
  }

  /**
   * SSF 1.0 §8.1.2.2. Paused: SETs are made and held, sent once enabled
   * again. Disabled: nothing is made or held (what waited is dropped). With
   * `announce` (the transmitter's side changed it: an operator), a change to
   * enabled or paused is itself sent on the stream (stream-updated,
   * §8.1.5); a receiver that changed it knows already.
   */
  async setStatus(body: Body, announce: boolean): Promise<SsfStreamStatusBody> {
    const stream = await this.stream(body.stream_id);
    if (typeof body.status !== "string" || !SSF_STREAM_STATUSES.includes(body.status as SsfStreamStatus)) {
      throw new HttpError("invalid_body", `status: one of ${SSF_STREAM_STATUSES.join(", ")}`);
    }
    const status = body.status as SsfStreamStatus;
    const reason = optionalText(body.reason, "reason", MAX_REASON_LENGTH);
    await updateStreamStatus(this.env.DB, stream.streamId, status, reason);
    const updated = { ...stream, status, statusReason: reason };
    if (status !== stream.status) {
      await this.tellTransmitter(async (t) => {
        if (status === "disabled") {
          await t.dropStream(stream.streamId);
          await t.stop(this.orgId);
          return;
        }
        await t.start(this.orgId);
        if (!announce) return;
        await this.send(updated, {
          type: SSF_EVENT.streamUpdated,
          subId: { format: "opaque", id: stream.streamId },
          body: { status, ...(reason ? { reason } : {}) },
        });
      });
    }
    return statusBody(updated);
  }

  /** SSF 1.0 §8.1.3.2: events about the subject flow (again). */
  async addSubject(body: Body): Promise<void> {
    const stream = await this.stream(body.stream_id);
    const subject = parseSubject(body.subject);
    if (body.verified !== undefined && typeof body.verified !== "boolean") {
      throw new HttpError("invalid_body", "verified: a boolean");
    }
    await includeSubject(this.env.DB, stream.streamId, canonicalSubject(subject));
  }

  /** SSF 1.0 §8.1.3.3: no more events about the subject on this stream. */
  async removeSubject(body: Body): Promise<void> {
    const stream = await this.stream(body.stream_id);
    if (body.verified !== undefined) throw new HttpError("invalid_body", "verified: only when adding a subject");
    await excludeSubject(this.env.DB, stream.streamId, canonicalSubject(parseSubject(body.subject)));
  }

  /**
   * SSF 1.0 §8.1.4.2: a verification event with the receiver's `state`,
   * sent on the stream whatever it requested (§8.1.4.1: its subject is the
   * stream). A disabled stream sends nothing: 409 `conflict`. A request
   * less than the stream's `min_verification_interval` after the last one
   * it sent is 429 `rate_limited` with Retry-After (§8.1.1); the transmitter
   * object decides and enqueues in one step, so two racing requests cannot
   * both pass.
   */
  async verify(body: Body): Promise<void> {
    const stream = await this.stream(body.stream_id);
    if (stream.status === "disabled") throw new HttpError("conflict", "the stream is disabled");
    const state = optionalText(body.state, "state", MAX_STATE_LENGTH);
    const set = await this.sign(stream, {
      type: SSF_EVENT.verification,
      subId: { format: "opaque", id: stream.streamId },
      body: state ? { state } : {},
    });
    const waitMs = await this.tellTransmitter((t) =>
      t.enqueueVerification(
        this.orgId,
        stream.streamId,
        set,
        stream.method === SSF_DELIVERY.push,
        MIN_VERIFICATION_INTERVAL_SECONDS * 1000,
      ),
    );
    if (waitMs > 0) {
      throw new HttpError(
        "rate_limited",
        `at most one verification request per ${MIN_VERIFICATION_INTERVAL_SECONDS} s (min_verification_interval)`,
        { "Retry-After": String(Math.ceil(waitMs / 1000)) },
      );
    }
  }

  /** RFC 8936 §2.4 for one poll stream of the org. */
  async poll(streamId: string, body: Body) {
    const stream = await this.stream(streamId);
    if (stream.method !== SSF_DELIVERY.poll) throw new HttpError("invalid_body", "the stream delivers by push");
    for (const key of Object.keys(body)) {
      if (!["ack", "maxEvents", "returnImmediately", "setErrs"].includes(key)) {
        throw new HttpError("invalid_body", `${key}: not a poll member (RFC 8936 §2.4)`);
      }
    }
    const ack = body.ack ?? [];
    if (!Array.isArray(ack) || ack.length > 1000 || !ack.every((j) => typeof j === "string" && j.length <= 64)) {
      throw new HttpError("invalid_body", "ack: at most 1000 jti strings");
    }
    const setErrs = body.setErrs ?? {};
    if (typeof setErrs !== "object" || setErrs === null || Array.isArray(setErrs)) {
      throw new HttpError("invalid_body", "setErrs: an object of jti → {err, description}");
    }
    const errored = Object.keys(setErrs);
    if (errored.length > 1000) throw new HttpError("invalid_body", "setErrs: at most 1000 entries");
    // RFC 8936 §2.4.1: each member is jti → RFC 8935 §2.3 `{err, description}`; anything else is a
    // malformed request and must not count as an acknowledgement of a SET the receiver never read.
    for (const [jti, report] of Object.entries(setErrs as Record<string, unknown>)) {
      const { err, description } = (typeof report === "object" && report !== null ? report : {}) as Body;
      if (
        jti.length > 64 ||
        typeof err !== "string" ||
        (description !== undefined && typeof description !== "string")
      ) {
        throw new HttpError("invalid_body", "setErrs: an object of jti → {err, description}");
      }
    }
    for (const jti of errored) console.warn("ssf receiver reported a SET error", stream.streamId, jti.slice(0, 64));
    const maxEvents = body.maxEvents ?? 100;
    if (typeof maxEvents !== "number" || !Number.isInteger(maxEvents) || maxEvents < 0) {
      throw new HttpError("invalid_body", "maxEvents: a non-negative integer");
    }
    if (body.returnImmediately !== undefined && typeof body.returnImmediately !== "boolean") {
      throw new HttpError("invalid_body", "returnImmediately: a boolean");
    }
    // RFC 8936 §2.4: returnImmediately defaults to false, a long poll.
    const waitMs = body.returnImmediately === true ? 0 : LONG_POLL_MAX_MS;
    return this.tellTransmitter((t) =>
      t.poll(stream.streamId, [...(ack as string[]), ...errored], maxEvents, stream.status !== "enabled", waitMs),
    );
  }

  /** What waits for one of the org's streams in its transmitter (operators). */
  async deliveryStats(streamId: string) {
    const stream = await this.stream(streamId);
    return this.tellTransmitter((t) => t.stats(stream.streamId));
  }

  /** Signs one SET for one stream and hands it to the transmitter. */
  private async send(stream: StreamRecord, event: SecurityEvent): Promise<void> {
    const set = await this.sign(stream, event);
    await this.transmitter().enqueue(
      this.orgId,
      stream.streamId,
      set.jti,
      set.jwt,
      stream.method === SSF_DELIVERY.push,
    );
  }

  private sign(stream: StreamRecord, event: SecurityEvent): Promise<{ jti: string; jwt: string }> {
    return signSecurityEvent(keyStore(this.env, tokenConfig(this.env)), this.issuer, stream.audience, event);
  }

  /**
   * The transmitter object's part of an operation. If it cannot be reached:
   * 503, and the D1 change stands; setting the stream's status to enabled
   * again starts the org's feed.
   */
  private async tellTransmitter<T>(
    call: (transmitter: ReturnType<StreamOperations["transmitter"]>) => Promise<T> | T,
  ): Promise<T> {
    try {
      return await call(this.transmitter());
    } catch (error) {
      if (error instanceof HttpError) throw error;
      console.error("ssf transmitter not reached", this.orgId, error);
      throw new HttpError("temporarily_unavailable", "the transmitter could not be reached; retry");
    }
  }
}

function statusBody(stream: StreamRecord): SsfStreamStatusBody {
  return {
    stream_id: stream.streamId,
    status: stream.status,
    ...(stream.statusReason ? { reason: stream.statusReason } : {}),
  };
}

function optionalText(value: unknown, field: string, max: number): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string" || value.length > max) {
    throw new HttpError("invalid_body", `${field}: at most ${max} characters`);
  }
  return value;
}
