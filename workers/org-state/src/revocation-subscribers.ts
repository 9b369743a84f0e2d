import {
  GATEWAY_CHANNEL_PATH,
  type GatewayChannelMessage,
  REVOCATION_CHANGES_PAGE,
  type RevocationLogEvent,
  type RevocationStreamMessage,
} from "../../../shared/contracts/revocation.ts";
import { httpErrorResponse } from "../../../shared/errors/http.ts";
import type { RevocationLog } from "./revocation-log.ts";

/** The hibernation tag every subscriber socket carries. */
const SUBSCRIBER_TAG = "revocation-subscriber";
/** The tag of gateways' push channels (workers/gateway/src/trust/revocation-channel.ts). */
const GATEWAY_TAG = "gateway-channel";

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
 * Gateways connect to GATEWAY_CHANNEL_PATH instead: the same hibernatable
 * socket and events, plus a `state` message once their backlog is sent and
 * a `policy` message at every policy switch, so a gateway holding one can
 * keep its view current between reads.
 */
export class RevocationSubscribers {
  private readonly sseWriters = new Set<WritableStreamDefaultWriter<Uint8Array>>();

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly log: RevocationLog,
    private readonly versions: () => ObjectVersions,
  ) {
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  /** Accepts a subscriber: a WebSocket upgrade, or `Accept: text/event-stream`. */
  connect(request: Request): Response {
    const url = new URL(request.url);
    const after = parseAfter(url.searchParams.get("after") ?? request.headers.get("last-event-id"));
    if (after === undefined) return httpErrorResponse("invalid_body", "after must be a non-negative integer");
    const position = after ?? this.versions().version;
    const upgrade = request.headers.get("upgrade")?.toLowerCase() === "websocket";
    if (upgrade && url.pathname === GATEWAY_CHANNEL_PATH) return this.connectGateway(position);
    if (upgrade) {
      const { 0: client, 1: server } = new WebSocketPair();
      this.ctx.acceptWebSocket(server, [SUBSCRIBER_TAG]);
      this.backlog(position, (message) => server.send(JSON.stringify(message)));
      return new Response(null, { status: 101, webSocket: client });
    }
    if (request.headers.get("accept")?.includes("text/event-stream")) {
      const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
      const writer = writable.getWriter();
      this.backlog(position, (message) => this.writeEvent(writer, message));
      this.sseWriters.add(writer);
      return new Response(readable, {
        headers: { "content-type": "text/event-stream", "cache-control": "no-store" },
      });
    }
    return httpErrorResponse("invalid_body", "connect with a WebSocket upgrade or Accept: text/event-stream");
  }

  /** Sends a just-recorded event to every subscriber and gateway; call it right after the write. */
  publish(event: RevocationLogEvent): void {
    const message: RevocationStreamMessage = { type: "revocation", ...event };
    const frame = JSON.stringify(message);
    this.sendAll(SUBSCRIBER_TAG, frame);
    this.sendAll(GATEWAY_TAG, frame);
    for (const writer of this.sseWriters) this.writeEvent(writer, message);
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
    for (const socket of this.ctx.getWebSockets(tag)) {
      try {
        socket.send(frame);
      } catch {
        // A socket closing under us: a subscriber resumes from its last seq, a gateway reads the object.
      }
    }
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
    const id = message.type === "revocation" ? `id: ${message.seq}\n` : "";
    // Writes queue in call order; a failed one means the reader has gone.
    writer.write(encoder.encode(`${id}event: ${message.type}\ndata: ${JSON.stringify(message)}\n\n`)).catch(() => {
      this.sseWriters.delete(writer);
    });
  }
}

/** undefined: malformed; null: absent (start from now). */
function parseAfter(raw: string | null): number | null | undefined {
  if (raw === null || raw === "") return null;
  if (!/^\d{1,15}$/.test(raw)) return undefined;
  return Number(raw);
}
