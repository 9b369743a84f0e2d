import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { SSF_DELIVERY, SSF_EVENT } from "../../shared/contracts/ssf.ts";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { createTestOrg } from "./clients-fixtures.ts";
import { poll, receiverToken, registerReceiver } from "./ssf-fixtures.ts";

describe("SSF streams through the admin API (operators, mono-auth ssf stream)", () => {
  it("creates, lists, shows, pauses and deletes an org's stream; a status it sets is announced", async () => {
    // A stream's `aud` is first-come across orgs: one no other file's org holds.
    const aud = `https://rp-${crypto.randomUUID()}.example`;
    const token = await adminToken();
    const receiver = await registerReceiver();
    const orgId = receiver.orgId as string;
    const created = await adminRequest("POST", `/orgs/${orgId}/ssf/streams`, {
      token,
      body: { aud, delivery: { method: SSF_DELIVERY.poll }, description: "by ops" },
    });
    expect(created.status).toBe(201);
    const stream = (await created.json()) as { stream_id: string; aud: string };
    expect(stream.aud).toBe(aud);

    const list = await adminRequest("GET", `/orgs/${orgId}/ssf/streams`, { token });
    expect(((await list.json()) as { stream_id: string }[]).map((s) => s.stream_id)).toEqual([stream.stream_id]);
    const shown = await adminRequest("GET", `/orgs/${orgId}/ssf/streams/${stream.stream_id}`, { token });
    expect(await shown.json()).toEqual(stream);

    const paused = await adminRequest("POST", `/orgs/${orgId}/ssf/streams/${stream.stream_id}/status`, {
      token,
      body: { status: "paused", reason: "maintenance" },
    });
    expect(await paused.json()).toEqual({ stream_id: stream.stream_id, status: "paused", reason: "maintenance" });
    await adminRequest("POST", `/orgs/${orgId}/ssf/streams/${stream.stream_id}/status`, {
      token,
      body: { status: "enabled" },
    });
    // The org's own receiver polls the stream the operator made: both status changes were announced.
    const sets = (await poll(await receiverToken(receiver), stream.stream_id)).sets;
    const events = Object.values(sets).map((jwt) => decodeJwt(jwt).events as Record<string, { status: string }>);
    expect(events.map((e) => e[SSF_EVENT.streamUpdated]?.status)).toEqual(["paused", "enabled"]);

    const status = await adminRequest("GET", `/orgs/${orgId}/ssf/streams/${stream.stream_id}/status`, { token });
    expect(await status.json()).toEqual({
      stream_id: stream.stream_id,
      status: "enabled",
      waiting: 2,
      max_attempts: 0,
    });

    const deleted = await adminRequest("DELETE", `/orgs/${orgId}/ssf/streams/${stream.stream_id}`, { token });
    expect(deleted.status).toBe(200);
    await expectHttpError(
      await adminRequest("GET", `/orgs/${orgId}/ssf/streams/${stream.stream_id}`, { token }),
      404,
      "not_found",
    );
  });

  it("refuses what is not an org's stream with its exact code", async () => {
    const token = await adminToken();
    const orgA = await createTestOrg();
    const orgB = await createTestOrg();
    const created = await adminRequest("POST", `/orgs/${orgA}/ssf/streams`, { token, body: { aud: "rp" } });
    const { stream_id } = (await created.json()) as { stream_id: string };
    await expectHttpError(
      await adminRequest("GET", `/orgs/${orgB}/ssf/streams/${stream_id}`, { token }),
      404,
      "not_found",
    );
    await expectHttpError(await adminRequest("GET", "/orgs/org-none/ssf/streams", { token }), 404, "not_found");
    await expectHttpError(
      await adminRequest("POST", `/orgs/${orgA}/ssf/streams`, {
        token,
        body: { delivery: { method: SSF_DELIVERY.poll } },
      }),
      400,
      "invalid_body",
    );
    await expectHttpError(
      await adminRequest("POST", `/orgs/${orgA}/ssf/streams/${stream_id}/status`, { token, body: { status: "off" } }),
      400,
      "invalid_body",
    );
  });
});
