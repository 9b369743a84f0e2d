import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SSF_DELIVERY, SSF_EVENT, ssfTransmitterName } from "../../shared/contracts/ssf.ts";
import { createStream, receiverLog, receiverToken, registerReceiver, revokeInOrg } from "./ssf-fixtures.ts";

/**
 * A push stream whose stored Authorization cannot be unsealed (a row written
 * around the API, or damaged) threw out of the transmitter's push run: every
 * SET of the org queued after it (other streams' too, which wait behind it
 * oldest first) stayed undelivered, and its own row stayed due at once, so
 * the object's alarm ran again without pause.
 */
describe("SSF push with an Authorization that cannot be unsealed", () => {
  it("waits as a failed push with backoff, and the org's other streams are pushed", { timeout: 60_000 }, async () => {
    const client = await registerReceiver();
    const orgId = client.orgId as string;
    const token = await receiverToken(client);
    const push = (name: string) => ({
      events_requested: [SSF_EVENT.sessionRevoked],
      delivery: {
        method: SSF_DELIVERY.push,
        endpoint_url: `https://receiver.test/push/${name}`,
        authorization_header: "Bearer receiver-secret",
      },
    });
    const damaged = `r-${crypto.randomUUID()}`;
    const damagedStream = await createStream(token, push(damaged));
    await env.DB.prepare("UPDATE ssf_stream SET authorization_sealed = ? WHERE stream_id = ?")
      .bind("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", damagedStream)
      .run();
    await revokeInOrg(orgId, "session", "first-session");
    const transmitter = env.SSF_TRANSMITTER.getByName(ssfTransmitterName(orgId));
    await expect.poll(async () => (await transmitter.stats(damagedStream)).waiting).toBe(1);

    const healthy = `r-${crypto.randomUUID()}`;
    await createStream(token, push(healthy));
    await revokeInOrg(orgId, "session", "second-session");
    await expect
      .poll(async () => (await receiverLog(healthy)).received.length, { timeout: 20_000, interval: 250 })
      .toBe(1);

    // The damaged stream's SETs wait as failed, retried with backoff, and were never sent anywhere.
    const stats = await transmitter.stats(damagedStream);
    expect(stats.waiting).toBe(2);
    expect(stats.lastError).toBe("ERR_PUSH_AUTHORIZATION_UNREADABLE");
    expect((await receiverLog(damaged)).attempts).toBe(0);
  });
});
