import { expect, it } from "vitest";
import { SSF_EVENT } from "../../shared/contracts/ssf.ts";
import { createStream, poll, receiverToken, registerReceiver, revokeInOrg, ssfRequest } from "./ssf-fixtures.ts";

/**
 * RFC 8936 §2.4.1: each `setErrs` member is a jti → `{err, description}`
 * (RFC 8935 §2.3's error object). A report that is not one is a malformed
 * request, 400 `invalid_body`, and acknowledges nothing: taken as an
 * acknowledgement, a receiver's bug removed a revocation SET it never read.
 */
it("a setErrs member that is not {err, description} is 400 invalid_body and the SET still waits", async () => {
  const client = await registerReceiver();
  const orgId = client.orgId as string;
  const token = await receiverToken(client);
  const streamId = await createStream(token, { events_requested: [SSF_EVENT.sessionRevoked] });
  await revokeInOrg(orgId, "session", "set-errs-shape");
  let sets: Record<string, string> = {};
  await expect
    .poll(async () => {
      sets = (await poll(token, streamId, { maxEvents: 10 })).sets;
      return Object.keys(sets).length;
    })
    .toBe(1);
  const [jti] = Object.keys(sets) as [string];

  for (const setErrs of [{ [jti]: "oops" }, { [jti]: { description: "no err" } }, { [jti]: { err: 7 } }]) {
    const response = await ssfRequest("POST", `/poll/${streamId}`, token, { returnImmediately: true, setErrs });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe("invalid_body");
  }
  expect(Object.keys((await poll(token, streamId, { maxEvents: 10 })).sets)).toEqual([jti]);

  expect(await poll(token, streamId, { setErrs: { [jti]: { err: "invalid_key", description: "x" } } })).toEqual({
    sets: {},
    moreAvailable: false,
  });
});
