import type { RevocationLogEvent, RevocationStreamMessage } from "../../../shared/contracts/revocation.ts";
import { httpErrorResponse } from "../../../shared/errors/http.ts";
import type { RevocationLog } from "./revocation-log.ts";

/** The hibernation tag every subscriber socket carries. */
const SUBSCRIBER_TAG = "revocation-subscriber";

const encoder = new TextEncoder();

/**
 * The org's live revocation subscribers. A subscriber connects with
 * `?after=<seq>` (or SSE's `Last-Event-ID`), first receives every logged
 * event after it, then each new one as it is recorded: once each, in `seq`
 * order, because the backlog and every fan-out run synchronously inside the
 * object (no other call interleaves between reading the log and sending).
 *
 * WebSocket subscribers use the hibernation API (ctx.acceptWebSocket), so an
 * idle one keeps no isolate alive; a "ping" text frame is answered "pong" by
 * the runtime without waking the object. SSE subscribers are streams this
 * instance holds in memory: they keep it alive while connected and end when
 * it is evicted, after which they reconnect with `Last-Event-ID` and resume.
 */
export class RevocationSubscribers {
  private readonly sseWriters = new Set<WritableStreamDefaultWriter<Uint8Array>>();

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly log: RevocationLog,
    private readonly currentVersion: () => number,
  ) {
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  /** Accepts a subscriber: a WebSocket upgrade, or `Accept: text/event-stream`. */
  connect(request: Request): Response {
    const url = new URL(request.url);
    const after = parseAfter(url.searchParams.get("after") ?? request.headers.get("last-event-id"));
    if (after === undefined) return httpErrorResponse("invalid_body", "after must be a non-negative integer");
    const position = after ?? this.currentVersion();
    if (request.headers.get("upgrade")?.toLowerCase() === "websocket") {
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

  /** Sends a just-recorded event to every subscriber; call it right after the write. */
  publish(event: RevocationLogEvent): void {
    const message: RevocationStreamMessage = { type: "revocation", ...event };
    const frame = JSON.stringify(message);
    for (const socket of this.ctx.getWebSockets(SUBSCRIBER_TAG)) {
      try {
        socket.send(frame);
      } catch {
        // A socket closing under us: the subscriber resumes from its last seq.
      }
    }
    for (const writer of this.sseWriters) this.writeEvent(writer, message);
  }

  private backlog(after: number, send: (message: RevocationStreamMessage) => void): void {
    let position = after;
    for (;;) {
      const changes = this.log.changesSince(position, this.currentVersion());
      if (changes.kind === "resync") {
        send({ type: "resync", version: changes.version });
        return;
      }
      for (const event of changes.events) send({ type: "revocation", ...event });
      if (!changes.more) return;
      position = changes.events.at(-1)?.seq ?? position;
    }
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
