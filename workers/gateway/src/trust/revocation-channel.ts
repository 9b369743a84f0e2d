import type { OrgStateNamespace } from "../../../../shared/contracts/org-state.ts";
import { GATEWAY_CHANNEL_PATH, type GatewayChannelMessage } from "../../../../shared/contracts/revocation.ts";
import { orgStateName } from "../../../../shared/contracts/storage-keys.ts";
import { CHANNEL_RETRY_MS, channelRetryDelayMs } from "./channel-retry-delay.ts";
import type { OrgRevocations } from "./revocation-index.ts";

export interface ChannelOptions {
  /** The staleness bound: a ping unanswered this long means the channel proves nothing any more. */
  maxStalenessMs: number;
  /**
   * How long a channel lives before it closes itself. A Worker keeps a
   * request's work alive for at most 30 s after its response (waitUntil), so
   * the channel ends before the runtime would end it for us, and a request
   * arriving after `renewAfterMs` opens its successor.
   */
  maxAgeMs: number;
}

/** Channels older than this share of maxAgeMs are replaced by the next request of their org. */
const RENEW_AT = 0.8;

/** Within a Worker's 30 s of waitUntil after a response, with room to spare. */
export const CHANNEL_MAX_AGE_MS = 25_000;

/**
 * Push from the org's Durable Object to one isolate: a WebSocket to the
 * object's GATEWAY_CHANNEL_PATH, which the object accepts through the
 * hibernation API (an idle channel costs the object nothing). The object
 * sends every revocation the moment it is recorded, and every policy
 * switch; the channel applies them to the view at once, so a revocation
 * reaches this isolate in one network hop instead of at the next refresh.
 *
 * What makes the view provably current is the ping: every
 * maxStalenessMs / 3 the channel sends "ping", which the runtime answers
 * "pong" without waking the object, on the same ordered socket, after every
 * frame the object sent before it. So a pong to a ping sent at time T proves
 * the view holds every revocation recorded before T, and the view's
 * `confirmedAt` moves to T. A channel that stops answering simply stops
 * confirming, and the view falls back to pulling within the bound
 * (revocation-sync.ts). Any gap or surprise closes the channel for the same
 * fallback.
 *
 * The socket is created in one request's context and kept alive by its
 * waitUntil, so a channel lives at most maxAgeMs (opened again by a later
 * request while the org has traffic). One that ended early is not replaced
 * before `retryAt`: a second after it opened, or when the object's refusal
 * said to come back (channel-retry-delay.ts).
 */
export class RevocationChannel {
  private readonly pings: number[] = [];
  readonly openedAt = Date.now();
  private closed = false;
  /** No successor connects before this (ms): see channel-retry-delay.ts. */
  private holdOffUntil = this.openedAt + CHANNEL_RETRY_MS;
  /** Whether this channel counts in the view's policyChannels. */
  private followsPolicy = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  private socket: WebSocket | undefined;
  private finish: () => void = () => undefined;

  private constructor(
    readonly view: OrgRevocations,
    private readonly options: ChannelOptions,
  ) {}

  /** Opens a channel for the view, held by `waitUntil` until it closes. */
  static open(
    namespace: OrgStateNamespace,
    view: OrgRevocations,
    options: ChannelOptions,
    waitUntil: (promise: Promise<unknown>) => void,
  ): RevocationChannel {
    const channel = new RevocationChannel(view, options);
    waitUntil(channel.run(namespace));
    return channel;
  }

  /** Whether it is open and not yet due for a successor. */
  get live(): boolean {
    return !this.closed && Date.now() - this.openedAt < this.options.maxAgeMs * RENEW_AT;
  }

  /** Whether it has ended (closed, refused or failed), rather than connecting or open. */
  get ended(): boolean {
    return this.closed;
  }

  /** When a successor may connect once this one has ended. */
  get retryAt(): number {
    return this.holdOffUntil;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.followsPolicy) this.view.policyChannels--;
    if (this.timer !== undefined) clearInterval(this.timer);
    try {
      this.socket?.close(1000, "done");
    } catch {
      // Already closed.
    }
    this.finish();
  }

  private async run(namespace: OrgStateNamespace): Promise<void> {
    const done = new Promise<void>((resolve) => {
      this.finish = resolve;
    });
    const lifetime = setTimeout(() => this.close(), this.options.maxAgeMs);
    try {
      const requestedAt = Date.now();
      const url = new URL(`https://org-state${GATEWAY_CHANNEL_PATH}`);
      url.searchParams.set("after", String(this.view.version));
      const response = await namespace
        .getByName(orgStateName(this.view.orgId))
        .fetch(url, { headers: { Upgrade: "websocket" } });
      const socket = response.webSocket;
      if (!socket) {
        // Refused (an object at MAX_GATEWAY_CHANNELS answers 429 with
        // Retry-After): the view pulls within the bound meanwhile.
        this.holdOffUntil = Math.max(this.holdOffUntil, Date.now() + channelRetryDelayMs(response));
        response.body?.cancel().catch(() => undefined);
        this.close();
        return;
      }
      if (this.closed) {
        socket.close(1000, "done");
        return;
      }
      this.socket = socket;
      socket.addEventListener("message", (event) => this.receive(event.data, requestedAt));
      socket.addEventListener("close", () => this.close());
      socket.addEventListener("error", () => this.close());
      socket.accept();
      await done;
    } catch (error) {
      console.error("revocation channel failed", this.view.orgId, error);
      this.close();
    } finally {
      clearTimeout(lifetime);
    }
  }

  private receive(data: unknown, requestedAt: number): void {
    if (this.closed) return;
    if (data === "pong") {
      const sentAt = this.pings.shift();
      if (sentAt !== undefined) this.view.confirmedAt = Math.max(this.view.confirmedAt, sentAt);
      return;
    }
    let message: GatewayChannelMessage;
    try {
      message = JSON.parse(String(data)) as GatewayChannelMessage;
    } catch {
      this.close();
      return;
    }
    switch (message.type) {
      case "revocation":
        if (!this.view.apply([message])) this.close();
        return;
      case "policy":
        this.view.policyVersion = message.policyVersion;
        return;
      case "state":
        // The backlog is in: the view now holds everything the object had
        // when it took the connection, which was after `requestedAt`.
        if (this.view.version < message.version) {
          this.close();
          return;
        }
        this.view.policyVersion = message.policyVersion;
        this.followsPolicy = true;
        this.view.policyChannels++;
        this.view.confirmedAt = Math.max(this.view.confirmedAt, requestedAt);
        this.startPinging();
        return;
      default:
        // "resync": too far behind for the socket; the view pulls instead.
        this.close();
    }
  }

  private startPinging(): void {
    // A pong must be back within the bound minus one interval for the view to
    // stay confirmed: a third leaves two thirds of the bound for the round
    // trip, at three pings a second per channel at the default bound. A
    // slower round trip only costs pulls, never a stale answer.
    const every = Math.max(25, Math.floor(this.options.maxStalenessMs / 3));
    this.timer = setInterval(() => {
      const oldest = this.pings[0];
      if (oldest !== undefined && Date.now() - oldest >= this.options.maxStalenessMs) {
        this.close();
        return;
      }
      try {
        this.pings.push(Date.now());
        this.socket?.send("ping");
      } catch {
        this.close();
      }
    }, every);
  }
}
