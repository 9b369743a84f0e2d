import {
  GATEWAY_CHANNEL_PATH,
  type GatewayChannelMessage,
  REVOCATION_CHANGES_PAGE,
  type RevocationLogEvent,
  type RevocationStreamMessage,
  SUBSCRIBER_CREDENTIAL_HEADER,
  type SubscriberCredential,
} from "../../../shared/contracts/revocation.ts";
import { httpErrorResponse } from "../../../shared/errors/http.ts";
import { entryRevokes } from "../../../shared/revocation/is-token-revoked.ts";
import { assertRevocableClaims } from "./revocable-claims.ts";
import type { RevocationLog } from "./revocation-log.ts";

/** RFC 6455 §7.4.1 1008 (policy violation): the subscription's credential has ended. */
const CREDENTIAL_ENDED_CODE = 1008;
const CREDENTIAL_ENDED_REASON = "the credential that opened this stream has ended; reconnect";

/** The hibernation tag every subscriber socket carries. */
const SUBSCRIBER_TAG = "revocation-subscriber";
/** The second tag of a client's subscriber socket (one with a credential): what the cap counts. */
const CLIENT_SUBSCRIBER_TAG = "revocation-client-subscriber";
/** The tag of gateways' push channels (workers/gateway/src/trust/revocation-channel.ts). */
const GATEWAY_TAG = "gateway-channel";

/**
 * Live subscribers (WebSocket and SSE together, gateway channels apart) one
 * org's object holds at most. Any client of the org holding
 * `revocations:read` may open a stream, and each costs a frame per
 * revocation in the object's one synchronous fan-out (an SSE one also its
 * memory and keeping the object awake), while a Durable Object accepts a
 * bounded number of WebSockets in all (32,768), gateway channels included:
 * unbounded, one client's connections slowed every revoke and could leave
 * no room for the gateways' push channels. A service needs one stream, an
 * operator a few; past this the connect is 429 rate_limited. Only clients'
 * subscriptions (with a credential) count and are refused: the object's own
 * Workers' (the SSF transmitter's feed) are neither, or any client of the
 * org holding every slot pushed the transmitter onto polling (a second of
 * delay per delivery and a read per second, as docs/ssf.md says of polling).
 */
export const MAX_REVOCATION_SUBSCRIBERS = 100;

/**
 * Gateway push channels (GATEWAY_CHANNEL_PATH) one org's object holds at
 * most. Only our gateway Workers open them, one per isolate serving the org
 * (renewed after 20 s of a 25 s life, so briefly two), but nothing else
 * bounded them: a bug that opened one per request, or a flood of isolates,
 * grew the object's sockets, the memory behind them and every revocation's
 * synchronous fan-out without limit, and could take every WebSocket the
 * object accepts (32,768), subscribers' included. The load model's large
 * tenant (docs/revocation.md: 300 locations × 20 isolates) holds 6,000, and
 * 7,500 with renewals overlapping; 10,000 leaves room above that and keeps
 * two thirds of the object's sockets free. Past it a connect is refused
 * 429 rate_limited, as a subscriber past its cap is: the channels already
 * open keep their push, and the refused isolate's view pulls within the
 * staleness bound (workers/gateway/src/trust/revocation-channel.ts closes a
 * channel whose connect brought no socket), trying again no sooner than
 * the refusal's Retry-After (channel-retry-delay.ts there). Refusing the newcomer, not dropping the
 * oldest: a dropped isolate would reconnect at its next request and drop
 * another, so every channel churned.
 */
export const MAX_GATEWAY_CHANNELS = 10_000;

/**
 * How often a full object counts its gateway channels again. The count is
 * kept as channels are accepted and taken exactly from the runtime
 * (getWebSockets) only when it reaches the cap: listing up to 10,000 sockets
 * at every connect (hundreds a second for a large tenant) would be the
 * object's main work. So a closed channel's slot is seen within this.
 */
export const GATEWAY_CHANNEL_RECOUNT_MS = 1_000;

/** The bounds a RevocationSubscribers enforces (the defaults above; a test may choose smaller). */
export interface SubscriberLimits {
  gatewayChannels: number;
}

/**
 * Events an SSE subscriber may leave unread before it is dropped. Its
 * stream is written without waiting (the fan-out is synchronous), so what
 * it does not read stays queued in the object's memory: a reader that never
 * reads held every revocation from then on until the object was evicted.
 * Two pages: a connect's backlog (one page) plus a page of live events;
 * dropped, it reconnects with Last-Event-ID, from the log or a resync.
 */
export const MAX_SSE_UNREAD_EVENTS = 2 * REVOCATION_CHANGES_PAGE;

/** The object's versions as a channel starts from them. */
export interface ObjectVersions {
  version: number;
  policyVersion: number | null;
}

const encoder = new TextEncoder();

/**
 * The org's live revocation subscribers. A subscriber connects with
 * `?after=<seq>` (or SSE's `Last-Event-ID`), first receives every logged
 * event after it, then each new one as it is recorded: once each, in `seq`
 * order, because the backlog and every fan-out run synchronously inside the
 * object (no other call interleaves between reading the log and sending).
 * The backlog is at most one page (REVOCATION_CHANGES_PAGE events): further
 * behind, the subscriber gets `resync` at the current version instead, as a
 * gateway's channel does, and catches up from the snapshot or the paged
 * log (changesSince). Sent in one synchronous loop with nothing to hold it
 * back, a whole log (100k events, some 25 MB) per connection would let a
 * few connections with `?after=0` exhaust the object's memory.
 *
 * WebSocket subscribers use the hibernation API (ctx.acceptWebSocket), so an
 * idle one keeps no isolate alive; a "ping" text frame is answered "pong" by
 * the runtime without waking the object. SSE subscribers are streams this
 * instance holds in memory: they keep it alive while connected and end when
 * it is evicted, after which they reconnect with `Last-Event-ID` and resume.
 *
 * A subscription lives no longer than the credential that opened it
 * (SubscriberCredential, from the token Worker): before each event, a
 * subscriber whose token has expired, or whom the event itself revokes (its
 * client disabled or deleted, a person removed from the org or demoted, their
 * session ended), is closed instead of sent it. Authorised once at connect,
 * a stream otherwise went on carrying the org's revocations (people's and
 * sessions' ids) to a client deleted long before, for as long as the
 * socket stayed up. It reconnects, and is authorised again, from its last
 * `seq`. A subscriber without a credential is the object's own Workers'
 * (the SSF transmitter's socket) and is never closed here.
 *
 * Gateways connect to GATEWAY_CHANNEL_PATH instead: the same hibernatable
 * socket and events, plus a `state` message once their backlog is sent and
 * a `policy` message at every policy switch, so a gateway holding one can
 * keep its view current between reads.
 */
export class RevocationSubscribers {
  /** SSE subscribers, each with the credential it connected with (undefined: an internal one). */
  private readonly sseWriters = new Map<WritableStreamDefaultWriter<Uint8Array>, SubscriberCredential | undefined>();
  /** Gateway channels at the last count plus those accepted since (closed ones not taken off: see gatewayChannelsFull). */
  private gatewayChannels: number | undefined;
  private gatewayChannelsCountedAt = 0;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly log: RevocationLog,
    private readonly versions: () => ObjectVersions,
    private readonly limits: SubscriberLimits = { gatewayChannels: MAX_GATEWAY_CHANNELS },
  ) {
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  /** Accepts a subscriber: a WebSocket upgrade, or `Accept: text/event-stream`. */
  connect(request: Request): Response {
    const url = new URL(request.url);
    const after = parseAfter(url.searchParams.get("after") ?? request.headers.get("last-event-id"));
    if (after === undefined) return httpErrorResponse("invalid_body", "after must be a non-negative integer");
    const position = after ?? this.versions().version;
    const credential = readCredential(request.headers.get(SUBSCRIBER_CREDENTIAL_HEADER));
    if (credential === null) return httpErrorResponse("invalid_body", "malformed subscriber credential");
    const upgrade = request.headers.get("upgrade")?.toLowerCase() === "websocket";
    if (upgrade && url.pathname === GATEWAY_CHANNEL_PATH) {
      if (this.gatewayChannelsFull()) {
        return httpErrorResponse("rate_limited", "too many gateway channels for this org; pull instead", {
          "retry-after": "60",
        });
      }
      return this.connectGateway(position);
    }
    if (credential !== undefined && this.clientSubscribers() >= MAX_REVOCATION_SUBSCRIBERS) {
      return httpErrorResponse("rate_limited", "too many live revocation subscribers for this org; retry later", {
        "retry-after": "60",
      });
    }
    if (upgrade) {
      const { 0: client, 1: server } = new WebSocketPair();
      this.ctx.acceptWebSocket(server, credential ? [SUBSCRIBER_TAG, CLIENT_SUBSCRIBER_TAG] : [SUBSCRIBER_TAG]);
      // Kept with the socket, so it outlives the object's hibernation.
      server.serializeAttachment(credential ?? null);
      this.backlog(position, (message) => server.send(JSON.stringify(message)));
      return new Response(null, { status: 101, webSocket: client });
    }
    if (request.headers.get("accept")?.includes("text/event-stream")) {
      const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
      const writer = writable.getWriter();
      this.backlog(position, (message) => this.writeEvent(writer, message));
      this.sseWriters.set(writer, credential);
      // A reader that went away cancels the stream: its slot is freed then, not at the next event.
      writer.closed.then(
        () => this.sseWriters.delete(writer),
        () => this.sseWriters.delete(writer),
      );
      return new Response(readable, {
        headers: { "content-type": "text/event-stream", "cache-control": "no-store" },
      });
    }
    return httpErrorResponse("invalid_body", "connect with a WebSocket upgrade or Accept: text/event-stream");
  }

  /** Live subscribers with a credential (clients'), WebSocket and SSE: what MAX_REVOCATION_SUBSCRIBERS bounds. */
  private clientSubscribers(): number {
    let count = this.ctx.getWebSockets(CLIENT_SUBSCRIBER_TAG).length;
    for (const credential of this.sseWriters.values()) if (credential !== undefined) count++;
    return count;
  }

  /**
   * Whether the object holds MAX_GATEWAY_CHANNELS channels. The kept count
   * only grows between counts, so it can read full early but never late;
   * when it does, the runtime's list is counted, at most once per
   * GATEWAY_CHANNEL_RECOUNT_MS (and once after a wake from hibernation,
   * which forgets the count).
   */
  private gatewayChannelsFull(): boolean {
    const now = Date.now();
    const stale = now - this.gatewayChannelsCountedAt >= GATEWAY_CHANNEL_RECOUNT_MS;
    if (this.gatewayChannels === undefined || (this.gatewayChannels >= this.limits.gatewayChannels && stale)) {
      this.gatewayChannels = this.ctx.getWebSockets(GATEWAY_TAG).length;
      this.gatewayChannelsCountedAt = now;
    }
    return this.gatewayChannels >= this.limits.gatewayChannels;
  }

  /** Sends a just-recorded event to every subscriber and gateway; call it right after the write. */
  publish(event: RevocationLogEvent): void {
    const message: RevocationStreamMessage = { type: "revocation", ...event };
    const frame = JSON.stringify(message);
    const now = Math.floor(Date.now() / 1000);
    const entry = { kind: event.kind, value: event.value, revokedAt: event.revoked_at };
    const ended = (credential: SubscriberCredential | undefined | null) => {
      if (credential == null) return false;
      try {
        return now >= credential.until || (credential.claims !== undefined && entryRevokes(entry, credential.claims));
      } catch {
        // One a socket kept from before connect checked its claims: closed, never a throw after the commit.
        return true;
      }
    };
    for (const socket of this.ctx.getWebSockets(SUBSCRIBER_TAG)) {
      if (ended(socket.deserializeAttachment() as SubscriberCredential | null)) {
        closeQuietly(socket);
        continue;
      }
      sendQuietly(socket, frame);
    }
    this.sendAll(GATEWAY_TAG, frame);
    for (const [writer, credential] of this.sseWriters) {
      if (ended(credential)) {
        this.sseWriters.delete(writer);
        writer.close().catch(() => {});
        continue;
      }
      this.writeEvent(writer, message);
    }
  }

  /** Tells every gateway channel the policy version switched (subscribers only follow revocations). */
  publishPolicy(policyVersion: number | null): void {
    const message: GatewayChannelMessage = { type: "policy", policyVersion };
    this.sendAll(GATEWAY_TAG, JSON.stringify(message));
  }

  /**
   * A gateway's channel: the backlog after its view's version, then `state`.
   * A gateway far behind is told to resync (read from the object) rather
   * than sent a long backlog over the socket.
   */
  private connectGateway(after: number): Response {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [GATEWAY_TAG]);
    this.gatewayChannels = (this.gatewayChannels ?? 0) + 1;
    const send = (message: GatewayChannelMessage) => server.send(JSON.stringify(message));
    const versions = this.versions();
    if (versions.version - after > REVOCATION_CHANGES_PAGE) {
      send({ type: "resync", version: versions.version });
    } else {
      this.backlog(after, send);
      send({ type: "state", ...versions });
    }
    return new Response(null, { status: 101, webSocket: client });
  }

  private sendAll(tag: string, frame: string): void {
    for (const socket of this.ctx.getWebSockets(tag)) sendQuietly(socket, frame);
  }

  /** At most one page of events after `after`, or `resync` (see the class comment). */
  private backlog(after: number, send: (message: RevocationStreamMessage) => void): void {
    const { version } = this.versions();
    if (version - after > REVOCATION_CHANGES_PAGE) {
      send({ type: "resync", version });
      return;
    }
    // Within one page: changesSince answers every event up to `version` (`more` is false).
    const changes = this.log.changesSince(after, version);
    if (changes.kind === "resync") {
      send({ type: "resync", version: changes.version });
      return;
    }
    for (const event of changes.events) send({ type: "revocation", ...event });
  }

  private writeEvent(writer: WritableStreamDefaultWriter<Uint8Array>, message: RevocationStreamMessage): void {
    if (writer.desiredSize !== null && writer.desiredSize < -MAX_SSE_UNREAD_EVENTS) {
      this.sseWriters.delete(writer);
      // abort, not close: close would keep the unread events queued until they were read.
      writer.abort(new Error("subscriber too far behind")).catch(() => {});
      return;
    }
    const id = message.type === "revocation" ? `id: ${message.seq}\n` : "";
    // Writes queue in call order; a failed one means the reader has gone.
    writer.write(encoder.encode(`${id}event: ${message.type}\ndata: ${JSON.stringify(message)}\n\n`)).catch(() => {
      this.sseWriters.delete(writer);
    });
  }
}

function sendQuietly(socket: WebSocket, frame: string): void {
  try {
    socket.send(frame);
  } catch {
    // A socket closing under us: a subscriber resumes from its last seq, a gateway reads the object.
  }
}

function closeQuietly(socket: WebSocket): void {
  try {
    socket.close(CREDENTIAL_ENDED_CODE, CREDENTIAL_ENDED_REASON);
  } catch {
    // Already closing.
  }
}

/** The header's credential; undefined: none (an internal subscriber); null: malformed. */
function readCredential(raw: string | null): SubscriberCredential | undefined | null {
  if (raw === null) return undefined;
  try {
    const parsed = JSON.parse(raw) as Partial<SubscriberCredential>;
    if (typeof parsed.until !== "number") return null;
    const claims = parsed.claims;
    // Whole claims, as isRevoked takes them: publish() reads them at every
    // event (entryRevokes walks derived_from and act), and one it could not
    // read threw there, after the commit, so the recording answered an error
    // and the gateway channels after it in the fan-out never heard of it.
    if (claims !== undefined) assertRevocableClaims(claims);
    return { until: parsed.until, ...(claims !== undefined ? { claims } : {}) };
  } catch {
    return null;
  }
}

/** undefined: malformed; null: absent (start from now). */
function parseAfter(raw: string | null): number | null | undefined {
  if (raw === null || raw === "") return null;
  if (!/^\d{1,15}$/.test(raw)) return undefined;
  return Number(raw);
}
