import { DurableObject } from "cloudflare:workers";
import type { RevocationLogEvent } from "../../../../shared/contracts/revocation.ts";
import { SSF_DELIVERY, type SsfPollResponse } from "../../../../shared/contracts/ssf.ts";
import { orgStateName, SSF_TRANSMITTER_META as META } from "../../../../shared/contracts/storage-keys.ts";
import { tokenConfig } from "../config.ts";
import { keyStore } from "../keys/signing-keys.ts";
import { Outbox } from "./outbox.ts";
import { runDuePushes } from "./push-run.ts";
import { securityEventFor } from "./revocation-events.ts";
import { signSecurityEvent } from "./security-event-token.ts";
import { countLiveStreams, liveStreams } from "./stream-store.ts";
import { isExcluded } from "./subjects.ts";

/**
 * How often the transmitter reads the org's event log while the org has a
 * live stream and it holds no subscription to the org's object (below): the
 * feed's added latency then (a push leaves at most this long after the
 * revocation was recorded), for one small read of the org's object per
 * interval — well inside its budget (docs/revocation.md).
 */
export const FEED_INTERVAL_MS = 1000;
/**
 * With a live subscription, each recorded revocation wakes the feed at once;
 * the log is still read this often, in case the socket died silently.
 */
const SUBSCRIBED_FEED_INTERVAL_MS = 10_000;
/** The org's object's live stream (workers/org-state/src/revocation-subscribers.ts), reached by stub.fetch. */
const ORG_STREAM_URL = "https://org-state/revocations/stream";
/** Log pages (500 events each) turned into SETs per run, so one run's signing stays bounded. */
const MAX_PAGES_PER_FEED = 2;
/**
 * How long an undelivered or unacknowledged SET is kept: far beyond every
 * token a revocation can name (MAX_ACCESS_TOKEN_TTL_SECONDS), so a receiver
 * down for a day still hears of every session revoked meanwhile.
 */
const RETENTION_MS = 24 * 3600 * 1000;
const MAX_POLL_EVENTS = 100;
/**
 * RFC 8936 §2.4 long poll (`returnImmediately: false`, the default): how
 * long a poll that finds nothing waits for a SET before answering none. Well
 * inside the timeouts of proxies and HTTP clients between a receiver and us.
 */
export const LONG_POLL_MAX_MS = 10_000;
/**
 * The most SETs kept for one stream; past it the oldest go first. A receiver
 * that never acknowledges or never answers cannot make the object grow
 * without bound (verification requests included).
 */
const MAX_WAITING_PER_STREAM = 10_000;

/**
 * One org's Shared Signals transmitter (named `ssf:<org id>`). The org's own
 * Durable Object (OrgState) stays the one source of truth: this object reads
 * its event log (changesSince) from a cursor kept here, turns each recorded
 * revocation into one SET per live stream that asked for its type and has
 * not removed its subject, and keeps those SETs in its SQLite outbox until
 * a push is answered (RFC 8935) or a poll acknowledges them (RFC 8936). The
 * cursor moves in the same transaction that stores the SETs, so a crash
 * loses or repeats nothing; a push is removed only after the receiver's
 * answer, so delivery is at least once (a receiver dedupes by `jti`, RFC
 * 8935 §2). While the org has a live stream, the object holds a WebSocket
 * to the org's object's revocation stream, so each recorded revocation is
 * turned into SETs and pushed at once; its alarm reads the log as well
 * (every FEED_INTERVAL_MS without that socket, SUBSCRIBED_FEED_INTERVAL_MS
 * with it) and runs failed pushes when they fall due (exponential backoff).
 */
export class SsfTransmitter extends DurableObject<TokenEnv> {
  private readonly outbox: Outbox;
  private feeding: Promise<void> | undefined;
  private delivering: Promise<void> | undefined;
  /** Counts start() calls, so a stop() that read D1 before a racing start() does not undo it. */
  private starts = 0;
  /**
   * A WebSocket to the org's object's revocation stream while the org has a
   * live stream: each message is a revocation just recorded, and wakes the
   * feed (which still reads from its own cursor, so a lost or repeated
   * message changes nothing). The object is kept in memory while it is
   * open; the alarm reopens it after an eviction.
   */
  private subscription: WebSocket | undefined;
  /** Long polls waiting for a SET (RFC 8936 §2.4): woken whenever the outbox gains one. */
  private readonly waiting = new Set<() => void>();

  constructor(ctx: DurableObjectState, env: TokenEnv) {
    super(ctx, env);
    this.outbox = new Outbox(ctx.storage.sql);
  }

  /**
   * A stream of the org was created or enabled: feed from the org's current
   * version on (a new stream hears of what happens after it), run soon.
   */
  async start(orgId: string): Promise<void> {
    this.starts += 1;
    this.outbox.setMeta(META.orgId, orgId);
    if (this.outbox.getMeta(META.active) !== "1") {
      // Idle until now: what the log holds past an old cursor happened before any live stream.
      const version = await this.currentVersion(orgId);
      if (this.outbox.getMeta(META.active) !== "1") this.outbox.setMeta(META.cursor, String(version));
    }
    this.outbox.setMeta(META.active, "1");
    await this.subscribe(orgId);
    await this.scheduleWithin(FEED_INTERVAL_MS);
  }

  /**
   * A stream was deleted or disabled: when the org has no live stream left
   * (read here, after the D1 change), stop reading its log. Pending pushes
   * still go out. A start() while D1 was read wins: its stream is live.
   */
  async stop(orgId: string): Promise<void> {
    const starts = this.starts;
    const live = await countLiveStreams(this.env.DB, orgId);
    if (live === 0 && starts === this.starts) {
      this.outbox.setMeta(META.active, "0");
      this.unsubscribe();
    }
  }

  /** A SET made outside the feed (verification, stream-updated) for one stream. */
  async enqueue(orgId: string, streamId: string, jti: string, jwt: string, push: boolean): Promise<void> {
    this.outbox.setMeta(META.orgId, orgId);
    this.outbox.add(streamId, jti, jwt, push, Date.now());
    if (!push) this.wakePolls();
    if (push) await this.scheduleWithin(0);
  }

  /**
   * A verification SET (SSF 1.0 §8.1.4.2), enqueued unless the stream's last
   * one was less than `minIntervalMs` ago (§8.1.1 min_verification_interval).
   * Answers 0 when enqueued, else the ms left to wait. Check and record run
   * without an await between them: the object serialises racing requests.
   */
  async enqueueVerification(
    orgId: string,
    streamId: string,
    set: { jti: string; jwt: string },
    push: boolean,
    minIntervalMs: number,
  ): Promise<number> {
    const key = META.verifiedAt(streamId);
    const now = Date.now();
    const last = Number(this.outbox.getMeta(key) ?? Number.NEGATIVE_INFINITY);
    if (now - last < minIntervalMs) return minIntervalMs - (now - last);
    this.outbox.setMeta(key, String(now));
    await this.enqueue(orgId, streamId, set.jti, set.jwt, push);
    return 0;
  }

  /** A stream now delivers by push or poll: what waits for it follows. */
  async methodChanged(streamId: string, push: boolean): Promise<void> {
    this.outbox.setStreamMethod(streamId, push, Date.now());
    if (push) await this.scheduleWithin(0);
  }

  /** A deleted or disabled stream: SSF 1.0 §8.1.2.1, nothing is held for it. */
  dropStream(streamId: string): void {
    this.outbox.dropStream(streamId);
    this.outbox.deleteMeta(META.verifiedAt(streamId));
  }

  /**
   * RFC 8936 §2.4: removes the acknowledged SETs (and those the receiver
   * reported errors for, §2.4.1: it has them), then answers up to
   * `maxEvents` unacknowledged ones. The feed runs first, so a poll right
   * after a revocation already sees it. With none to answer and
   * `waitMs` > 0 (a long poll), it waits until a SET for the stream arrives
   * (each one the feed or a verification adds wakes it) or `waitMs` passes.
   * `held` (a paused or disabled stream) answers none, at once or once
   * `waitMs` passes, but still takes acknowledgements.
   */
  async poll(
    streamId: string,
    ack: readonly string[],
    maxEvents: number,
    held: boolean,
    waitMs = 0,
  ): Promise<SsfPollResponse> {
    if (this.outbox.getMeta(META.active) === "1") await this.feed();
    this.outbox.acknowledge(streamId, ack);
    if (held) {
      // RFC 8936 §2.4: a long poll answers once it has a SET to give or its time is up, and a paused
      // or disabled stream gives none: it waits its time. Answered at once, a receiver polling in a
      // loop polled without a pause for as long as its stream was paused.
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(waitMs, LONG_POLL_MAX_MS)));
      return { sets: {}, moreAvailable: false };
    }
    // RFC 8936 §2.2: `moreAvailable` tells an acknowledge-only poll whether unacknowledged SETs still wait.
    if (maxEvents === 0) return { sets: {}, moreAvailable: this.outbox.unacknowledged(streamId, 0).more };
    const limit = Math.min(maxEvents, MAX_POLL_EVENTS);
    let found = this.outbox.unacknowledged(streamId, limit);
    const deadline = Date.now() + Math.min(waitMs, LONG_POLL_MAX_MS);
    while (found.rows.length === 0 && Date.now() < deadline) {
      await this.nextSet(deadline - Date.now());
      found = this.outbox.unacknowledged(streamId, limit);
    }
    return { sets: Object.fromEntries(found.rows.map((r) => [r.jti, r.set_jwt])), moreAvailable: found.more };
  }

  /** Resolves when the outbox next gains a SET (any stream's), or after `ms`. */
  private nextSet(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiting.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.waiting.add(wake);
    });
  }

  private wakePolls(): void {
    for (const wake of [...this.waiting]) wake();
  }

  /** How the org's feed runs (operators, tests): reading the log, over a live subscription, and from where. */
  feedState(): { active: boolean; subscribed: boolean; cursor: number | null } {
    const cursor = this.outbox.getMeta(META.cursor);
    return {
      active: this.outbox.getMeta(META.active) === "1",
      subscribed: this.subscription !== undefined,
      cursor: cursor === undefined ? null : Number(cursor),
    };
  }

  /** What waits for a stream (operators, tests). */
  stats(streamId: string): { waiting: number; maxAttempts: number; lastError: string | null } {
    return this.outbox.stats(streamId);
  }

  override async alarm(): Promise<void> {
    const orgId = this.outbox.getMeta(META.orgId);
    if (this.outbox.getMeta(META.active) === "1" && orgId !== undefined) {
      await this.subscribe(orgId);
      await this.feed().catch((error) => console.error("ssf feed failed", error));
    }
    await this.deliverDue().catch((error) => console.error("ssf push run failed", error));
    this.outbox.prune(Date.now() - RETENTION_MS, MAX_WAITING_PER_STREAM);
    await this.scheduleNext();
  }

  /** Opens the subscription to the org's object unless one is open; a failure leaves the alarm's polling. */
  private async subscribe(orgId: string): Promise<void> {
    if (this.subscription) return;
    try {
      const response = await this.env.ORG_STATE.getByName(orgStateName(orgId)).fetch(ORG_STREAM_URL, {
        headers: { Upgrade: "websocket" },
      });
      const socket = response.webSocket;
      if (!socket) {
        await response.body?.cancel();
        throw new Error(`no WebSocket (HTTP ${response.status})`);
      }
      socket.accept();
      this.subscription = socket;
      socket.addEventListener("message", () => {
        this.ctx.waitUntil(this.onRecorded());
      });
      const forget = () => {
        if (this.subscription === socket) this.subscription = undefined;
      };
      socket.addEventListener("close", forget);
      socket.addEventListener("error", forget);
    } catch (error) {
      console.warn("ssf subscription to the org's object not opened; polling its log", orgId, error);
    }
  }

  private unsubscribe(): void {
    const socket = this.subscription;
    this.subscription = undefined;
    try {
      socket?.close(1000, "no live stream");
    } catch {
      // Already closing.
    }
  }

  /** A revocation was just recorded: make and push its SETs now, not at the next alarm. */
  private async onRecorded(): Promise<void> {
    if (this.outbox.getMeta(META.active) !== "1") return;
    await this.feed().catch((error) => console.error("ssf feed failed", error));
    await this.deliverDue().catch((error) => console.error("ssf push run failed", error));
    await this.scheduleNext();
  }

  /** One feed at a time: a poll and the alarm must not both turn the same events into SETs. */
  private feed(): Promise<void> {
    this.feeding ??= this.feedOnce().finally(() => {
      this.feeding = undefined;
    });
    return this.feeding;
  }

  private async feedOnce(): Promise<void> {
    const orgId = this.outbox.getMeta(META.orgId);
    if (orgId === undefined) return;
    const config = tokenConfig(this.env);
    const keys = keyStore(this.env, config);
    const orgState = this.env.ORG_STATE.getByName(orgStateName(orgId));
    let cursor = Number(this.outbox.getMeta(META.cursor) ?? (await this.currentVersion(orgId)));
    let streams: Awaited<ReturnType<typeof liveStreams>> | undefined;
    for (let page = 0; page < MAX_PAGES_PER_FEED; page++) {
      const changes = await orgState.changesSince(cursor);
      if (changes.kind === "resync") {
        // The events after the cursor were pruned (they outlived every token they named) or the
        // object is behind us: nothing can be sent for them; carry on from its version.
        console.warn("ssf feed resynced", orgId, cursor, changes.version);
        this.outbox.setMeta(META.cursor, String(changes.version));
        return;
      }
      const last = changes.events.at(-1);
      if (!last) return;
      streams ??= await liveStreams(this.env.DB, orgId);
      const sets = await this.setsFor(config.issuer, orgId, changes.events, streams, keys);
      const now = Date.now();
      this.ctx.storage.transactionSync(() => {
        for (const s of sets) this.outbox.add(s.streamId, s.jti, s.jwt, s.push, now);
        this.outbox.setMeta(META.cursor, String(last.seq));
      });
      if (sets.some((s) => !s.push)) this.wakePolls();
      cursor = last.seq;
      if (!changes.more) return;
    }
  }

  private async setsFor(
    issuer: string,
    orgId: string,
    events: readonly RevocationLogEvent[],
    streams: Awaited<ReturnType<typeof liveStreams>>,
    keys: ReturnType<typeof keyStore>,
  ): Promise<{ streamId: string; jti: string; jwt: string; push: boolean }[]> {
    const out: { streamId: string; jti: string; jwt: string; push: boolean }[] = [];
    for (const logged of events) {
      const event = securityEventFor(issuer, orgId, logged);
      for (const { stream, excluded } of streams) {
        if (!stream.eventsDelivered.includes(event.type) || isExcluded(event.subId, excluded)) continue;
        const set = await signSecurityEvent(keys, issuer, stream.audience, event);
        out.push({ streamId: stream.streamId, ...set, push: stream.method === SSF_DELIVERY.push });
      }
    }
    return out;
  }

  /** One push run at a time: two runs would read the same due rows and push them twice. */
  private deliverDue(): Promise<void> {
    this.delivering ??= runDuePushes(this.env, this.outbox).finally(() => {
      this.delivering = undefined;
    });
    return this.delivering;
  }

  /** The org's revocation version now: asking for changes after "infinity" answers resync at it. */
  private async currentVersion(orgId: string): Promise<number> {
    const answer = await this.env.ORG_STATE.getByName(orgStateName(orgId)).changesSince(Number.MAX_SAFE_INTEGER);
    return answer.version;
  }

  /** Runs the alarm within `ms` (never later than one already set). */
  private async scheduleWithin(ms: number): Promise<void> {
    const at = Date.now() + ms;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  private async scheduleNext(): Promise<void> {
    const now = Date.now();
    const candidates: number[] = [];
    if (this.outbox.getMeta(META.active) === "1") {
      candidates.push(now + (this.subscription ? SUBSCRIBED_FEED_INTERVAL_MS : FEED_INTERVAL_MS));
    }
    const due = this.outbox.nextDue();
    if (due !== undefined) candidates.push(Math.max(due, now));
    if (candidates.length > 0) await this.ctx.storage.setAlarm(Math.min(...candidates));
  }
}
