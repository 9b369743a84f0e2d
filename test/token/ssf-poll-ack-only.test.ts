import { expect, it } from "vitest";
import { SSF_EVENT } from "../../shared/contracts/ssf.ts";
import { createStream, poll, receiverToken, registerReceiver, revokeInOrg } from "./ssf-fixtures.ts";

/**
 * RFC 8936 §2.4: `maxEvents: 0` is an acknowledge-only poll, and §2.2's
 * `moreAvailable` says whether unacknowledged SETs still wait; answered
 * false while they did, a receiver that acknowledges in one request and
 * reads in the next took the stream for drained and stopped polling.
 */
it("an acknowledge-only poll (maxEvents 0) says whether unacknowledged SETs remain", async () => {
  const client = await registerReceiver();
  const orgId = client.orgId as string;
  const token = await receiverToken(client);
  const streamId = await createStream(token, { events_requested: [SSF_EVENT.sessionRevoked] });
  for (const id of ["ack-only-1", "ack-only-2"]) await revokeInOrg(orgId, "session", id);
  let sets: Record<string, string> = {};
  await expect
    .poll(async () => {
      sets = (await poll(token, streamId, { maxEvents: 10 })).sets;
      return Object.keys(sets).length;
    })
    .toBe(2);
  const [first, second] = Object.keys(sets) as [string, string];

  expect(await poll(token, streamId, { ack: [first], maxEvents: 0 })).toEqual({ sets: {}, moreAvailable: true });
  expect(await poll(token, streamId, { ack: [second], maxEvents: 0 })).toEqual({ sets: {}, moreAvailable: false });
  expect(await poll(token, streamId, { maxEvents: 10 })).toEqual({ sets: {}, moreAvailable: false });
});
