import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { SCOPE } from "../../shared/contracts/scopes.ts";
import { SSF_DELIVERY, SSF_EVENT, ssfTransmitterName } from "../../shared/contracts/ssf.ts";
import { adminToken } from "./admin-fixtures.ts";
import { clientToken, registerTestClient } from "./clients-fixtures.ts";
import { AUDIENCE, expectOAuthError } from "./fixtures.ts";
import {
  createStream,
  poll,
  receiverToken,
  registerReceiver,
  revokeInOrg,
  SSF_AUDIENCE,
  ssfRequest,
} from "./ssf-fixtures.ts";
import { decodeJwt } from "jose";

describe("SSF transmitter metadata (SSF 1.0 §7)", () => {
  it("serves /.well-known/ssf-configuration for the one issuer", async () => {
    const response = await ssfRequest("GET", ENDPOINT.ssfConfiguration, undefined);
    expect(response.status).toBe(200);
    const issuer = env.ISSUER;
    expect(await response.json()).toEqual({
      spec_version: "1_0",
      issuer,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      delivery_methods_supported: [SSF_DELIVERY.push, SSF_DELIVERY.poll],
      configuration_endpoint: `${issuer}/ssf/streams`,
      status_endpoint: `${issuer}/ssf/status`,
      add_subject_endpoint: `${issuer}/ssf/subjects/add`,
      remove_subject_endpoint: `${issuer}/ssf/subjects/remove`,
      verification_endpoint: `${issuer}/ssf/verify`,
      authorization_schemes: [{ spec_urn: "urn:ietf:rfc:6749" }],
      default_subjects: "ALL",
      resource: SSF_AUDIENCE,
    });
  });
});

describe("SSF stream management (SSF 1.0 §8.1)", () => {
  it("creates, reads, lists, updates, pauses and deletes a stream of the caller's org", async () => {
    const client = await registerReceiver();
    const token = await receiverToken(client);
    const created = await ssfRequest("POST", "/streams", token, {
      delivery: { method: SSF_DELIVERY.poll },
      events_requested: [SSF_EVENT.sessionRevoked, SSF_EVENT.credentialChange, "https://example.com/unknown"],
      description: "hr",
    });
    expect(created.status).toBe(201);
    const stream = (await created.json()) as Record<string, unknown> & { stream_id: string };
    expect(stream).toMatchObject({
      iss: env.ISSUER,
      aud: client.clientId,
      events_requested: [SSF_EVENT.sessionRevoked, SSF_EVENT.credentialChange, "https://example.com/unknown"],
      events_delivered: [SSF_EVENT.sessionRevoked, SSF_EVENT.credentialChange],
      delivery: { method: SSF_DELIVERY.poll, endpoint_url: `${env.ISSUER}/ssf/poll/${stream.stream_id}` },
      description: "hr",
    });
    expect(stream.stream_id).toMatch(/^ssf_[\w-]{22}$/);

    const read = await ssfRequest("GET", `/streams?stream_id=${stream.stream_id}`, token);
    expect(await read.json()).toEqual(stream);
    const list = await ssfRequest("GET", "/streams", token);
    expect(await list.json()).toEqual([stream]);

    const patched = await ssfRequest("PATCH", "/streams", token, { stream_id: stream.stream_id, description: "it" });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({ description: "it", events_delivered: stream.events_delivered });

    const status = await ssfRequest("GET", `/status?stream_id=${stream.stream_id}`, token);
    expect(await status.json()).toEqual({ stream_id: stream.stream_id, status: "enabled" });
    const paused = await ssfRequest("POST", "/status", token, {
      stream_id: stream.stream_id,
      status: "paused",
      reason: "maintenance",
    });
    expect(await paused.json()).toEqual({ stream_id: stream.stream_id, status: "paused", reason: "maintenance" });

    const deleted = await ssfRequest("DELETE", `/streams?stream_id=${stream.stream_id}`, token);
    expect(deleted.status).toBe(204);
    await expectOAuthError(await ssfRequest("GET", `/streams?stream_id=${stream.stream_id}`, token), 404, "not_found");
  });

  it("never answers a push stream's Authorization back, and refuses unusable push endpoints", async () => {
    const token = await receiverToken(await registerReceiver());
    const created = await ssfRequest("POST", "/streams", token, {
      delivery: {
        method: SSF_DELIVERY.push,
        endpoint_url: "https://receiver.example/events",
        authorization_header: "Bearer receiver-secret",
      },
    });
    expect(created.status).toBe(201);
    expect(JSON.stringify(await created.json())).not.toContain("receiver-secret");
    for (const endpoint_url of [undefined, "ftp://receiver.example/x", "https://u:p@receiver.example/x", "nope"]) {
      const response = await ssfRequest("POST", "/streams", token, {
        delivery: { method: SSF_DELIVERY.push, endpoint_url },
      });
      await expectOAuthError(response, 400, "invalid_body");
    }
    await expectOAuthError(
      await ssfRequest("POST", "/streams", token, { delivery: { method: "urn:example:smoke" } }),
      400,
      "invalid_body",
    );
    await expectOAuthError(await ssfRequest("POST", "/streams", token, { unknown: 1 }), 400, "invalid_body");
    await expectOAuthError(
      await ssfRequest("POST", "/status", token, { stream_id: "ssf_AAAAAAAAAAAAAAAAAAAAAA", status: "enabled" }),
      404,
      "not_found",
    );
  });

  it("answers another org's client 404 not_found on every operation of the stream, as for no stream", async () => {
    const ownerToken = await receiverToken(await registerReceiver());
    const streamId = await createStream(ownerToken);
    const otherToken = await receiverToken(await registerReceiver());
    const calls: [string, string, unknown?][] = [
      ["GET", `/streams?stream_id=${streamId}`],
      ["PATCH", "/streams", { stream_id: streamId, description: "x" }],
      ["PUT", "/streams", { stream_id: streamId }],
      ["DELETE", `/streams?stream_id=${streamId}`],
      ["GET", `/status?stream_id=${streamId}`],
      ["POST", "/status", { stream_id: streamId, status: "disabled" }],
      ["POST", "/subjects/add", { stream_id: streamId, subject: { format: "opaque", id: "x" } }],
      ["POST", "/subjects/remove", { stream_id: streamId, subject: { format: "opaque", id: "x" } }],
      ["POST", "/verify", { stream_id: streamId }],
      ["POST", `/poll/${streamId}`, { ack: [] }],
    ];
    for (const [method, path, body] of calls) {
      const refused = await expectOAuthError(await ssfRequest(method, path, otherToken, body), 404, "not_found");
      expect(refused.error_description, `${method} ${path}`).toBe("no such stream");
    }
    // The other org's list does not show it; the owner still has it.
    expect(await (await ssfRequest("GET", "/streams", otherToken)).json()).toEqual([]);
    expect((await ssfRequest("GET", `/streams?stream_id=${streamId}`, ownerToken)).status).toBe(200);
  });

  it("answers RFC 6750 errors for a missing, wrong or under-scoped token", async () => {
    const none = await ssfRequest("GET", "/streams", undefined);
    expect(none.status).toBe(401);
    expect(none.headers.get("WWW-Authenticate")).toBe('Bearer realm="mono-auth"');

    const malformed = await ssfRequest("GET", "/streams", undefined, undefined, { Authorization: "Bearer a b" });
    await expectOAuthError(malformed, 400, "invalid_request");

    // A token for the API audience is not one for the transmitter.
    const apiClient = await registerTestClient({ scopes: [SCOPE.ssfManage], audiences: [AUDIENCE] });
    const wrongAudience = await ssfRequest("GET", "/streams", await clientToken(apiClient));
    await expectOAuthError(wrongAudience, 401, "invalid_token");
    expect(wrongAudience.headers.get("WWW-Authenticate")).toContain("ERR_TOKEN_AUD");

    // An operator's admin token is for the admin API (operators manage streams there).
    const operator = await ssfRequest("GET", "/streams", await adminToken());
    await expectOAuthError(operator, 401, "invalid_token");

    const unscoped = await registerReceiver(undefined, [SCOPE.revocationsRead]);
    const insufficient = await ssfRequest("GET", "/streams", await receiverToken(unscoped));
    await expectOAuthError(insufficient, 403, "insufficient_scope");
    expect(insufficient.headers.get("WWW-Authenticate")).toContain('scope="ssf:manage"');
  });

  it("stops honouring a receiver's token once its client is disabled", async () => {
    const client = await registerReceiver();
    const token = await receiverToken(client);
    expect((await ssfRequest("GET", "/streams", token)).status).toBe(200);
    await env.DB.prepare("UPDATE oauth_client SET status = 'disabled' WHERE client_id = ?").bind(client.clientId).run();
    const refused = await ssfRequest("GET", "/streams", token);
    await expectOAuthError(refused, 401, "invalid_token");
    expect(refused.headers.get("WWW-Authenticate")).toContain("ERR_TOKEN_REVOKED");
  });

  it("audits every call, with the client and never a body", async () => {
    const client = await registerReceiver();
    const token = await receiverToken(client);
    await ssfRequest("POST", "/streams", token, {
      delivery: {
        method: SSF_DELIVERY.push,
        endpoint_url: "https://receiver.example/audited",
        authorization_header: "Bearer audit-must-not-see-this",
      },
    });
    let detail = "";
    await expect
      .poll(async () => {
        const row = await env.AUDIT_DB.prepare(
          "SELECT client_id, outcome, detail FROM audit_event WHERE kind = 'admin.action' AND org_id = ?",
        )
          .bind(client.orgId)
          .first<{ client_id: string; outcome: string; detail: string }>();
        detail = row?.detail ?? "";
        return row && { client_id: row.client_id, outcome: row.outcome };
      })
      .toEqual({ client_id: client.clientId, outcome: "allow" });
    expect(JSON.parse(detail)).toMatchObject({ action: "ssf", method: "POST", path: "/ssf/streams", status: 201 });
    expect(detail).not.toContain("audit-must-not-see-this");
  });

  it("starts a new stream from now: events recorded while the org had no live stream are not sent to it", async () => {
    const client = await registerReceiver();
    const token = await receiverToken(client);
    const sessions = { events_requested: [SSF_EVENT.sessionRevoked] };
    const first = await createStream(token, sessions);
    expect((await ssfRequest("DELETE", `/streams?stream_id=${first}`, token)).status).toBe(204);
    await revokeInOrg(client.orgId as string, "session", "before-the-stream");
    const second = await createStream(token, sessions);
    await revokeInOrg(client.orgId as string, "session", "after-the-stream");
    let sets: Record<string, string> = {};
    await expect
      .poll(async () => {
        sets = (await poll(token, second)).sets;
        return Object.keys(sets).length;
      })
      .toBe(1);
    expect(decodeJwt(Object.values(sets)[0] as string).sub_id).toMatchObject({ session: { id: "after-the-stream" } });
  });

  it("subscribes to the org's object while the org has a live stream, and lets go after the last one", async () => {
    const client = await registerReceiver();
    const token = await receiverToken(client);
    const transmitter = env.SSF_TRANSMITTER.getByName(ssfTransmitterName(client.orgId as string));
    const streamId = await createStream(token, { events_requested: [SSF_EVENT.sessionRevoked] });
    expect(await transmitter.feedState()).toMatchObject({ active: true, subscribed: true });
    expect((await ssfRequest("DELETE", `/streams?stream_id=${streamId}`, token)).status).toBe(204);
    expect(await transmitter.feedState()).toMatchObject({ active: false, subscribed: false });
  });

  it("lets an org hold at most 10 streams (409 conflict)", async () => {
    const token = await receiverToken(await registerReceiver());
    for (let i = 0; i < 10; i++) await createStream(token);
    await expectOAuthError(await ssfRequest("POST", "/streams", token, {}), 409, "conflict");
  });
});
