import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SSF_DELIVERY, SSF_EVENT, ssfTransmitterName } from "../../shared/contracts/ssf.ts";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { expectOAuthError } from "./fixtures.ts";
import {
  createStream,
  poll,
  receiverLog,
  receiverToken,
  registerReceiver,
  revokeInOrg,
  ssfRequest,
} from "./ssf-fixtures.ts";

/**
 * A stream row whose list columns are not JSON (damaged, or written around
 * the API) threw out of every read of its org's streams: the transmitter's
 * feed stopped for all of the org's streams, and the stream's own reads
 * answered 500.
 */
describe("SSF stream whose stored configuration cannot be read", () => {
  it("stops only its own stream: the org's other streams deliver, its reads are 409 ERR_STREAM_CONFIG_UNREADABLE, it can be deleted", {
    timeout: 60_000,
  }, async () => {
    const client = await registerReceiver();
    const orgId = client.orgId as string;
    const token = await receiverToken(client);
    const receiver = `r-${crypto.randomUUID()}`;
    const damaged = await createStream(token, {
      events_requested: [SSF_EVENT.sessionRevoked],
      delivery: { method: SSF_DELIVERY.push, endpoint_url: `https://receiver.test/push/${receiver}` },
    });
    const healthy = await createStream(token, { events_requested: [SSF_EVENT.sessionRevoked] });
    // The push stream holds a SET while paused, so one waits in the outbox when its row is damaged.
    await ssfRequest("POST", "/status", token, { stream_id: damaged, status: "paused" });
    await revokeInOrg(orgId, "session", "before-damage");
    const transmitter = env.SSF_TRANSMITTER.getByName(ssfTransmitterName(orgId));
    await expect.poll(async () => (await transmitter.stats(damaged)).waiting, { timeout: 20_000 }).toBe(1);
    await env.DB.prepare("UPDATE ssf_stream SET events_delivered = ?, status = 'enabled' WHERE stream_id = ?")
      .bind("[not json", damaged)
      .run();

    await revokeInOrg(orgId, "session", "after-damage");
    const received: Record<string, string> = {};
    await expect
      .poll(
        async () => {
          Object.assign(received, (await poll(token, healthy)).sets);
          return Object.keys(received).length;
        },
        { timeout: 20_000, interval: 250 },
      )
      .toBe(2);

    // Its waiting SET fails as its own (the push run's status says why) and is sent nowhere.
    await expect
      .poll(async () => (await transmitter.stats(damaged)).lastError, { timeout: 20_000, interval: 250 })
      .toBe("ERR_STREAM_CONFIG_UNREADABLE");
    expect((await receiverLog(receiver)).attempts).toBe(0);

    for (const path of [`/streams?stream_id=${damaged}`, `/status?stream_id=${damaged}`]) {
      const body = await expectOAuthError(await ssfRequest("GET", path, token), 409, "conflict");
      expect(body.error_description).toMatch(/^ERR_STREAM_CONFIG_UNREADABLE: /);
    }
    const listed = (await (await ssfRequest("GET", "/streams", token)).json()) as { stream_id: string }[];
    expect(listed.map((s) => s.stream_id)).toEqual([healthy]);
    const admin = await adminToken();
    const problem = await expectHttpError(
      await adminRequest("GET", `/orgs/${orgId}/ssf/streams/${damaged}`, { token: admin }),
      409,
      "conflict",
    );
    expect(problem.detail).toMatch(/^ERR_STREAM_CONFIG_UNREADABLE: /);

    // Another org's receiver learns nothing of it.
    const stranger = await receiverToken(await registerReceiver());
    await expectOAuthError(await ssfRequest("GET", `/streams?stream_id=${damaged}`, stranger), 404, "not_found");

    // The way out: delete it.
    expect((await ssfRequest("DELETE", `/streams?stream_id=${damaged}`, token)).status).toBe(204);
    await expectOAuthError(await ssfRequest("GET", `/streams?stream_id=${damaged}`, token), 404, "not_found");
  });
});
