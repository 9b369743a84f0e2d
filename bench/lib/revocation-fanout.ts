// Revocation fan-out for `npm run bench`: N WebSocket subscribers on an
// org's revocation stream (through the gateway and the admin API to the
// org's Durable Object, which holds them through the hibernation API), one
// operator revoke, and the time until the first and the last subscriber
// hear of it (bench/README.md, "The revocation part").
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import type { RevocationStreamMessage } from "../../shared/contracts/revocation.ts";
import { figure, log } from "./rounds.ts";
import { median, table } from "./stats.ts";

/** Revocations timed per subscriber count; the row keeps the medians. */
const REPEATS = 5;
/** Sockets opened at once while connecting, so the dev proxy is not flooded. */
const OPEN_CONCURRENCY = 50;
const DELIVERY_TIMEOUT_MS = 30_000;

export interface FanOutRow {
  subscribers: number;
  /** ms from sending the revoke to the first subscriber's message (median over REPEATS). */
  firstMs: number;
  /** ms from sending the revoke to the last subscriber's message (median over REPEATS). */
  allMs: number;
  /** ms from the admin API's 201 to the last subscriber's message (median): the fan-out after the write. */
  afterRecordedMs: number;
}

export interface FanOutInput {
  origin: string;
  orgId: string;
  /** An operator admin token (the stream is authenticated like the rest of the admin API). */
  bearer: string;
  counts: readonly number[];
  /** Records a jti revocation; resolves at the 201. */
  revoke: (value: string) => Promise<void>;
}

interface Subscriber {
  socket: WebSocket;
  /** Resolves with the arrival time of the message naming `value`. */
  heard(value: string): Promise<number>;
}

function subscribe(url: string, bearer: string): Promise<Subscriber> {
  const waiting = new Map<string, (at: number) => void>();
  // Node's WebSocket (undici) takes request headers in its init object.
  const init = { headers: { Authorization: `Bearer ${bearer}` } } as unknown as string[];
  const socket = new WebSocket(url, init);
  socket.addEventListener("message", (event) => {
    const at = performance.now();
    const message = JSON.parse(String(event.data)) as RevocationStreamMessage;
    if (message.type !== "revocation") return;
    waiting.get(message.value)?.(at);
    waiting.delete(message.value);
  });
  return new Promise((resolve, reject) => {
    socket.addEventListener("open", () =>
      resolve({
        socket,
        heard: (value) => new Promise<number>((done) => waiting.set(value, done)),
      }),
    );
    socket.addEventListener("error", () => reject(new Error(`revocation stream: could not connect to ${url}`)));
  });
}

async function openAll(url: string, bearer: string, count: number): Promise<Subscriber[]> {
  const subscribers: Subscriber[] = [];
  while (subscribers.length < count) {
    const batch = Math.min(OPEN_CONCURRENCY, count - subscribers.length);
    subscribers.push(...(await Promise.all(Array.from({ length: batch }, () => subscribe(url, bearer)))));
  }
  return subscribers;
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: no delivery in time`)), DELIVERY_TIMEOUT_MS),
    ),
  ]);
}

export async function measureFanOut(input: FanOutInput): Promise<FanOutRow[]> {
  const base = input.origin.replace(/^http/, "ws");
  const url = `${base}${ENDPOINT.admin}/orgs/${encodeURIComponent(input.orgId)}/revocations/stream`;
  const rows: FanOutRow[] = [];
  for (const count of input.counts) {
    log(`fan-out: opening ${count} WebSocket subscriber(s)`);
    const subscribers = await openAll(url, input.bearer, count);
    const first: number[] = [];
    const all: number[] = [];
    const afterRecorded: number[] = [];
    for (let i = 0; i < REPEATS; i++) {
      const value = `fanout-${crypto.randomUUID()}`;
      const arrivals = Promise.all(subscribers.map((s) => s.heard(value)));
      const sent = performance.now();
      await input.revoke(value);
      const recorded = performance.now();
      const times = await withTimeout(arrivals, `fan-out to ${count}`);
      first.push(Math.min(...times) - sent);
      all.push(Math.max(...times) - sent);
      afterRecorded.push(Math.max(0, Math.max(...times) - recorded));
    }
    for (const s of subscribers) s.socket.close(1000, "done");
    rows.push({
      subscribers: count,
      firstMs: median(first),
      allMs: median(all),
      afterRecordedMs: median(afterRecorded),
    });
  }
  return rows;
}

export function formatFanOut(rows: readonly FanOutRow[]): string {
  return [
    `Fan-out: one operator revoke → its event at every WebSocket subscriber (median of ${REPEATS})`,
    table(
      ["subscribers", "first ms", "all ms", "all after the 201 ms"],
      rows.map((row) => [String(row.subscribers), figure(row.firstMs), figure(row.allMs), figure(row.afterRecordedMs)]),
    ),
    "Timed from sending the revoke; the object sends each event before the 201 is answered, so most of",
    "'all' is the admin API's round trip plus the client's own reading of N messages.",
  ].join("\n");
}
