import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { SSF_EVENT, ssfTransmitterName } from "../../shared/contracts/ssf.ts";
import { createStream, receiverToken, registerReceiver, revokeInOrg, ssfRequest } from "./ssf-fixtures.ts";

/** RFC 8936 §2.4: `returnImmediately` false (the default) is a long poll, bounded by LONG_POLL_MAX_MS. */
describe("long poll (RFC 8936 §2.4)", () => {
  it("a poll without returnImmediately waits for the next SET and answers it", async () => {
    const client = await registerReceiver();
    const token = await receiverToken(client);
    const streamId = await createStream(token, { events_requested: [SSF_EVENT.sessionRevoked] });
    // Nothing waits yet: the poll is still open when the revocation is recorded.
    const pending = ssfRequest("POST", `/poll/${streamId}`, token, { maxEvents: 10 });
    await revokeInOrg(client.orgId as string, "session", "sess-long-poll");
    const response = await pending;
    expect(response.status).toBe(200);
    const { sets, moreAvailable } = (await response.json()) as { sets: Record<string, string>; moreAvailable: boolean };
    expect(moreAvailable).toBe(false);
    expect(Object.values(sets).map((jwt) => decodeJwt(jwt).sub_id)).toEqual([
      expect.objectContaining({ session: { format: "opaque", id: "sess-long-poll" } }),
    ]);
  });

  it("answers no SETs once its wait is over when none arrived", async () => {
    const client = await registerReceiver();
    const token = await receiverToken(client);
    const streamId = await createStream(token);
    const transmitter = env.SSF_TRANSMITTER.getByName(ssfTransmitterName(client.orgId as string));
    expect(await transmitter.poll(streamId, [], 10, false, 50)).toEqual({ sets: {}, moreAvailable: false });
  });

  it("on a paused stream, waits its time before answering none, so a receiver polling in a loop pauses too", async () => {
    const client = await registerReceiver();
    const token = await receiverToken(client);
    const streamId = await createStream(token);
    const transmitter = env.SSF_TRANSMITTER.getByName(ssfTransmitterName(client.orgId as string));
    let answered = false;
    const held = transmitter.poll(streamId, [], 10, true, 3_000).then((answer) => {
      answered = true;
      return answer;
    });
    // A call to the same object after the poll: answered at once (as it was), the poll had settled before it.
    await transmitter.stats(streamId);
    expect(answered).toBe(false);
    expect(await held).toEqual({ sets: {}, moreAvailable: false });
    // returnImmediately: a held poll still answers at once.
    expect(await transmitter.poll(streamId, [], 10, true, 0)).toEqual({ sets: {}, moreAvailable: false });
  });
});
