import { describe, expect, it } from "vitest";
import { type PushTransport, pushSet } from "../../workers/token/src/ssf/push.ts";

const ENDPOINT = "https://receiver.test/push/credential-errors";
const SET = "eyJhbGciOiJFUzI1NiJ9.e30.sig";

/** The receiver is the one thing stood in for: a third party on the network. */
function answering(err: string): PushTransport {
  return {
    fetch: async () =>
      new Response(JSON.stringify({ err, description: "d" }), {
        status: 400,
        headers: { "Content-Type": "application/json" },
      }),
  };
}

describe("SSF push: a 400 about our credentials or key keeps the SET (RFC 8935 §2.4)", () => {
  it("authentication_failed, access_denied and invalid_key are retried, never dropped", async () => {
    expect(await pushSet(answering("authentication_failed"), ENDPOINT, "Bearer x", SET)).toEqual({
      kind: "retry",
      error: "400 authentication_failed",
    });
    expect(await pushSet(answering("access_denied"), ENDPOINT, "Bearer x", SET)).toEqual({
      kind: "retry",
      error: "400 access_denied",
    });
    // A receiver still holding our JWKS from before a rotation: it takes the same SET once it refetches.
    expect(await pushSet(answering("invalid_key"), ENDPOINT, undefined, SET)).toEqual({
      kind: "retry",
      error: "400 invalid_key",
    });
  });

  it("invalid_request still drops the SET: the receiver refused the SET itself", async () => {
    expect(await pushSet(answering("invalid_request"), ENDPOINT, undefined, SET)).toEqual({
      kind: "rejected",
      err: "invalid_request",
    });
  });
});
