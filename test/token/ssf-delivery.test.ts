import { env } from "cloudflare:workers";
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { MAX_LIVE_BROWSER_GRANT_REVOCATIONS_PER_PERSON } from "../../shared/contracts/revocation.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { CAEP_CLIENT_CREDENTIAL_TYPE, SET_MEDIA_TYPE, SSF_DELIVERY, SSF_EVENT } from "../../shared/contracts/ssf.ts";
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

const ALL_REVOCATION_EVENTS = [
  SSF_EVENT.sessionRevoked,
  SSF_EVENT.credentialChange,
  SSF_EVENT.tokenRevoked,
  SSF_EVENT.tokensRevoked,
];

/** Verifies a SET against the issuer's published JWKS, pinning what RFC 8417 and SSF 1.0 §4 fix. */
async function verifySet(jwt: string, audience: string) {
  const jwks = (await (await ssfRequest("GET", ENDPOINT.jwks, undefined)).json()) as JSONWebKeySet;
  const { payload, protectedHeader } = await jwtVerify(jwt, createLocalJWKSet(jwks), {
    issuer: env.ISSUER,
    audience,
    typ: "secevent+jwt",
    algorithms: ["ES256"],
  });
  return { payload, protectedHeader };
}

/** Polls until the stream has `count` SETs waiting (the feed runs on the transmitter's own schedule too). */
async function waitingSets(token: string, streamId: string, count: number): Promise<Record<string, string>> {
  let sets: Record<string, string> = {};
  await expect
    .poll(async () => {
      sets = (await poll(token, streamId, { maxEvents: 50 })).sets;
      return Object.keys(sets).length;
    })
    .toBe(count);
  return sets;
}

describe("Security Event Tokens (RFC 8417, CAEP 1.0)", () => {
  it("turns a revoked session into a CAEP session-revoked SET that verifies against our JWKS", async () => {
    const client = await registerReceiver();
    const token = await receiverToken(client);
    const streamId = await createStream(token, { events_requested: ALL_REVOCATION_EVENTS });
    await revokeInOrg(client.orgId as string, "session", "sess-1", "operator: stolen laptop");

    const sets = await waitingSets(token, streamId, 1);
    const [jti, jwt] = Object.entries(sets)[0] as [string, string];
    const { payload, protectedHeader } = await verifySet(jwt, client.clientId);
    expect(protectedHeader).toMatchObject({ alg: "ES256", typ: "secevent+jwt" });
    expect(typeof protectedHeader.kid).toBe("string");
    expect(payload.jti).toBe(jti);
    expect(typeof payload.iat).toBe("number");
    // RFC 8417 §2.2 / SSF 1.0 §4.1.9: a statement of fact, not a credential.
    expect(payload.exp).toBeUndefined();
    expect(payload.sub).toBeUndefined();
    expect(payload.sub_id).toEqual({
      format: "complex",
      session: { format: "opaque", id: "sess-1" },
      tenant: { format: "opaque", id: client.orgId },
    });
    expect(payload.events).toEqual({
      [SSF_EVENT.sessionRevoked]: {
        event_timestamp: expect.any(Number),
        initiating_entity: "admin",
        reason_admin: { en: "operator: stolen laptop" },
      },
    });
    expect(typeof payload.txn).toBe("string");
  });

  it("maps each revocation kind to its event type and subject", { timeout: 30_000 }, async () => {
    const client = await registerReceiver();
    const orgId = client.orgId as string;
    const token = await receiverToken(client);
    // Pushed: the org kill switch below also revokes the receiver's own token, so it could not poll.
    const name = `kinds-${crypto.randomUUID()}`;
    await createStream(token, {
      events_requested: ALL_REVOCATION_EVENTS,
      aud: "https://rp.example",
      delivery: { method: SSF_DELIVERY.push, endpoint_url: `https://receiver.test/push/${name}` },
    });
    await revokeInOrg(orgId, "client", "mac_someclient", "client disabled");
    await revokeInOrg(orgId, "jti", "token-jti-1", "rfc7009 by mac_x");
    await revokeInOrg(orgId, "subject", "user-7", "member removed");
    await revokeInOrg(orgId, "org", orgId, "org deleted");

    await expect.poll(async () => (await receiverLog(name)).received.length, { timeout: 20_000 }).toBe(4);
    const received = (await receiverLog(name)).received;
    const payloads = await Promise.all(
      received.map(async ({ body }) => (await verifySet(body, "https://rp.example")).payload),
    );
    const byType = (type: string) => payloads.find((p) => Object.keys(p.events as object)[0] === type);
    expect(byType(SSF_EVENT.credentialChange)).toMatchObject({
      sub_id: { format: "complex", application: { format: "opaque", id: "mac_someclient" } },
      events: {
        [SSF_EVENT.credentialChange]: { credential_type: CAEP_CLIENT_CREDENTIAL_TYPE, change_type: "revoke" },
      },
    });
    expect(byType(SSF_EVENT.tokenRevoked)).toMatchObject({
      sub_id: { format: "jwt_id", iss: env.ISSUER, jti: "token-jti-1" },
      events: { [SSF_EVENT.tokenRevoked]: { initiating_entity: "user" } },
    });
    const sessionEvents = payloads.filter((p) => Object.keys(p.events as object)[0] === SSF_EVENT.sessionRevoked);
    expect(sessionEvents.map((p) => p.sub_id)).toEqual(
      expect.arrayContaining([
        {
          format: "complex",
          user: { format: "iss_sub", iss: env.ISSUER, sub: "user-7" },
          tenant: { format: "opaque", id: orgId },
        },
        { format: "complex", tenant: { format: "opaque", id: orgId } },
      ]),
    );
  });

  it("maps a person's browser grants folded at one client (client_subject) to CAEP session-revoked about the user at that application", async () => {
    const client = await registerReceiver();
    const orgId = client.orgId as string;
    const token = await receiverToken(client);
    // Only session-revoked: the fold's grant events (tokens-revoked) are not asked for.
    const streamId = await createStream(token, { events_requested: [SSF_EVENT.sessionRevoked] });
    for (let i = 0; i <= MAX_LIVE_BROWSER_GRANT_REVOCATIONS_PER_PERSON; i++) {
      await env.ORG_STATE.getByName(orgStateName(orgId)).revokeBrowserGrant({
        orgId,
        grantId: `oidc-grant:${crypto.randomUUID()}`,
        clientId: "oidc_app",
        subject: "user-9",
        reason: "rfc7009 refresh token by oidc_app",
      });
    }
    const sets = await waitingSets(token, streamId, 1);
    const { payload } = await verifySet(Object.values(sets)[0] as string, client.clientId);
    expect(payload.sub_id).toEqual({
      format: "complex",
      user: { format: "iss_sub", iss: env.ISSUER, sub: "user-9" },
      application: { format: "opaque", id: "oidc_app" },
      tenant: { format: "opaque", id: orgId },
    });
    expect(payload.events).toEqual({
      [SSF_EVENT.sessionRevoked]: {
        event_timestamp: expect.any(Number),
        initiating_entity: "user",
        reason_admin: {
          en: `rfc7009 refresh token by oidc_app (folded: the person holds ${MAX_LIVE_BROWSER_GRANT_REVOCATIONS_PER_PERSON} live grant revocations for oidc_app)`,
        },
      },
    });
  });

  it("delivers only the event types a stream requested, and nothing about a removed subject", async () => {
    const client = await registerReceiver();
    const orgId = client.orgId as string;
    const token = await receiverToken(client);
    const streamId = await createStream(token, { events_requested: [SSF_EVENT.sessionRevoked] });
    const removed = await ssfRequest("POST", "/subjects/remove", token, {
      stream_id: streamId,
      subject: { format: "opaque", id: "sess-quiet" },
    });
    expect(removed.status).toBe(204);
    await revokeInOrg(orgId, "session", "sess-quiet");
    await revokeInOrg(orgId, "jti", "not-requested");
    await revokeInOrg(orgId, "session", "sess-loud");
    const sets = await waitingSets(token, streamId, 1);
    expect(decodeJwt(Object.values(sets)[0] as string).sub_id).toMatchObject({ session: { id: "sess-loud" } });

    // Added back, its events flow again.
    const added = await ssfRequest("POST", "/subjects/add", token, {
      stream_id: streamId,
      subject: { format: "opaque", id: "sess-quiet" },
    });
    expect(added.status).toBe(200);
    await revokeInOrg(orgId, "session", "sess-quiet");
    await waitingSets(token, streamId, 2);
    await expectInvalid(ssfRequest("POST", "/subjects/add", token, { stream_id: streamId, subject: { id: "x" } }));
  });
});

async function expectInvalid(response: Promise<Response>) {
  const r = await response;
  expect(r.status).toBe(400);
  expect(((await r.json()) as { error: string }).error).toBe("invalid_body");
}

describe("poll delivery (RFC 8936)", () => {
  it("never returns an acknowledged SET again", async () => {
    const client = await registerReceiver();
    const orgId = client.orgId as string;
    const token = await receiverToken(client);
    const streamId = await createStream(token, { events_requested: ALL_REVOCATION_EVENTS });
    for (const id of ["s1", "s2", "s3"]) await revokeInOrg(orgId, "session", id);
    const all = await waitingSets(token, streamId, 3);

    const first = await poll(token, streamId, { maxEvents: 2 });
    expect(Object.keys(first.sets)).toHaveLength(2);
    expect(first.moreAvailable).toBe(true);
    const acked = Object.keys(first.sets);

    const second = await poll(token, streamId, { ack: acked, maxEvents: 10 });
    expect(Object.keys(second.sets)).toEqual(Object.keys(all).filter((jti) => !acked.includes(jti)));
    expect(second.moreAvailable).toBe(false);

    // An error report is an acknowledgement too (RFC 8936 §2.4.1: the receiver has it).
    const [last] = Object.keys(second.sets) as [string];
    const third = await poll(token, streamId, {
      setErrs: { [last]: { err: "invalid_key", description: "x" } },
      maxEvents: 10,
    });
    expect(third).toEqual({ sets: {}, moreAvailable: false });
    // Acknowledging again, or a jti we never sent, changes nothing.
    expect(await poll(token, streamId, { ack: [...acked, "unknown"] })).toEqual({ sets: {}, moreAvailable: false });
  });

  it("holds SETs while paused and answers them once enabled; a disabled stream drops them", async () => {
    const client = await registerReceiver();
    const orgId = client.orgId as string;
    const token = await receiverToken(client);
    const streamId = await createStream(token, { events_requested: [SSF_EVENT.sessionRevoked] });
    await ssfRequest("POST", "/status", token, { stream_id: streamId, status: "paused" });
    await revokeInOrg(orgId, "session", "held");
    expect(await poll(token, streamId)).toEqual({ sets: {}, moreAvailable: false });
    await ssfRequest("POST", "/status", token, { stream_id: streamId, status: "enabled" });
    // The held session only: the receiver changed the status itself, so no stream-updated event.
    const sets = await waitingSets(token, streamId, 1);
    expect(decodeJwt(Object.values(sets)[0] as string).sub_id).toMatchObject({ session: { id: "held" } });

    await ssfRequest("POST", "/status", token, { stream_id: streamId, status: "disabled" });
    await ssfRequest("POST", "/status", token, { stream_id: streamId, status: "enabled" });
    expect(await poll(token, streamId)).toEqual({ sets: {}, moreAvailable: false });
  });

  it("sends a verification event with the receiver's state (SSF 1.0 §8.1.4)", async () => {
    const client = await registerReceiver();
    const token = await receiverToken(client);
    const streamId = await createStream(token);
    expect((await ssfRequest("POST", "/verify", token, { stream_id: streamId, state: "abc123" })).status).toBe(204);
    const sets = await waitingSets(token, streamId, 1);
    const { payload } = await verifySet(Object.values(sets)[0] as string, client.clientId);
    expect(payload.sub_id).toEqual({ format: "opaque", id: streamId });
    expect(payload.events).toEqual({ [SSF_EVENT.verification]: { state: "abc123" } });
  });

  it("refuses a verification request within min_verification_interval with 429 rate_limited (SSF 1.0 §8.1.1)", async () => {
    const token = await receiverToken(await registerReceiver());
    const streamId = await createStream(token);
    const config = (await (await ssfRequest("GET", `/streams?stream_id=${streamId}`, token)).json()) as {
      min_verification_interval: number;
    };
    expect(config.min_verification_interval).toBe(30);
    expect((await ssfRequest("POST", "/verify", token, { stream_id: streamId, state: "first" })).status).toBe(204);
    const again = await ssfRequest("POST", "/verify", token, { stream_id: streamId, state: "second" });
    const retryAfter = Number(again.headers.get("Retry-After"));
    await expectOAuthError(again, 429, "rate_limited");
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(30);
    // Only the first was signed and enqueued.
    const sets = await poll(token, streamId);
    expect(Object.values(sets.sets).map((jwt) => decodeJwt(jwt).events)).toEqual([
      { [SSF_EVENT.verification]: { state: "first" } },
    ]);
    // Another stream of the org has its own interval.
    const other = await createStream(token);
    expect((await ssfRequest("POST", "/verify", token, { stream_id: other })).status).toBe(204);
  });

  it("refuses malformed poll requests with 400 invalid_body", async () => {
    const token = await receiverToken(await registerReceiver());
    const streamId = await createStream(token);
    for (const body of [{ ack: "x" }, { maxEvents: -1 }, { returnImmediately: "yes" }, { other: 1 }]) {
      await expectInvalid(ssfRequest("POST", `/poll/${streamId}`, token, body));
    }
    const push = await createStream(token, {
      delivery: { method: SSF_DELIVERY.push, endpoint_url: "https://receiver.test/push/unused" },
    });
    await expectInvalid(ssfRequest("POST", `/poll/${push}`, token, {}));
  });
});

describe("push delivery (RFC 8935)", () => {
  it("retries with backoff until the receiver answers, then stops", { timeout: 60_000 }, async () => {
    const client = await registerReceiver();
    const token = await receiverToken(client);
    const name = `r-${crypto.randomUUID()}`;
    const streamId = await createStream(token, {
      events_requested: [SSF_EVENT.sessionRevoked],
      delivery: {
        method: SSF_DELIVERY.push,
        // The receiver answers 503 twice, then 202.
        endpoint_url: `https://receiver.test/push/${name}?fail=2`,
        authorization_header: "Bearer receiver-secret",
      },
    });
    await revokeInOrg(client.orgId as string, "session", "pushed-session");

    let log = await receiverLog(name);
    await expect
      .poll(
        async () => {
          log = await receiverLog(name);
          return log.received.length;
        },
        { timeout: 45_000, interval: 250 },
      )
      .toBe(1);
    expect(log.attempts).toBe(3);
    const [push] = log.received as [{ authorization: string | null; contentType: string | null; body: string }];
    expect(push.authorization).toBe("Bearer receiver-secret");
    expect(push.contentType).toBe(SET_MEDIA_TYPE);
    expect(decodeProtectedHeader(push.body).typ).toBe("secevent+jwt");
    const { payload } = await verifySet(push.body, client.clientId);
    expect(payload.sub_id).toMatchObject({ session: { id: "pushed-session" } });

    // Delivered once: nothing waits any more, and no further attempt is made.
    const transmitter = env.SSF_TRANSMITTER.getByName(`ssf:${client.orgId}`);
    await expect.poll(async () => (await transmitter.stats(streamId)).waiting).toBe(0);
    expect((await receiverLog(name)).attempts).toBe(3);
  });
});
