import { describe, expect, it } from "vitest";
import { MAX_PUSH_ERROR_BODY_BYTES, type PushTransport, pushSet } from "../../workers/token/src/ssf/push.ts";

const ENDPOINT = "https://receiver.test/push/error-body";
const SET = "eyJhbGciOiJFUzI1NiJ9.e30.sig";

/** 64 MiB: what the review's receiver streamed back. */
const HUGE = 64 * 1024 * 1024;
const CHUNK = 16 * 1024;

/**
 * A receiver answering 400 with `total` bytes of body, streamed on demand
 * (pull), counting what the reader pulled and whether it cancelled. The
 * receiver is the one thing stood in for: it is a third party on the network.
 */
function streamingReceiver(total: number) {
  const seen = { pulled: 0, cancelled: false };
  const chunk = new TextEncoder().encode(`{"err":"${"x".repeat(CHUNK - 9)}"}`.slice(0, CHUNK));
  const transport: PushTransport = {
    fetch: async () =>
      new Response(
        new ReadableStream<Uint8Array>(
          {
            pull(controller) {
              if (seen.pulled >= total) return controller.close();
              seen.pulled += chunk.byteLength;
              controller.enqueue(chunk.slice());
            },
            cancel() {
              seen.cancelled = true;
            },
          },
          { highWaterMark: 0 },
        ),
        { status: 400, headers: { "Content-Type": "application/json" } },
      ),
  };
  return { transport, seen };
}

function answering(status: number, body: string): PushTransport {
  return { fetch: async () => new Response(body, { status, headers: { "Content-Type": "application/json" } }) };
}

describe("SSF push: a receiver's 400 body is read to a cap (RFC 8935 §2.3)", () => {
  it("a 64 MiB streamed 400 body: retried as an unreadable error, after reading no more than the cap", async () => {
    const { transport, seen } = streamingReceiver(HUGE);
    expect(await pushSet(transport, ENDPOINT, undefined, SET)).toEqual({ kind: "retry", error: "400 without err" });
    // readStreamCapped stops at the first chunk past the cap.
    expect(seen.pulled).toBeLessThanOrEqual(MAX_PUSH_ERROR_BODY_BYTES + CHUNK);
    expect(seen.cancelled).toBe(true);
  });

  it("a valid error body longer than the cap is not taken as the receiver's refusal", async () => {
    const long = JSON.stringify({ err: "invalid_request", description: "d".repeat(MAX_PUSH_ERROR_BODY_BYTES) });
    expect(await pushSet(answering(400, long), ENDPOINT, undefined, SET)).toEqual({
      kind: "retry",
      error: "400 without err",
    });
  });

  it("an error body within the cap still drops the SET with the receiver's err", async () => {
    const body = JSON.stringify({ err: "invalid_audience", description: "not ours" });
    expect(await pushSet(answering(400, body), ENDPOINT, undefined, SET)).toEqual({
      kind: "rejected",
      err: "invalid_audience",
    });
    expect(await pushSet(answering(400, "not json"), ENDPOINT, undefined, SET)).toEqual({
      kind: "retry",
      error: "400 without err",
    });
  });
});
