// The Shared Signals transmitter over HTTP, through the gateway, with the
// whole system running (test/support/system.ts): an org's receiver client
// creates a push stream (to a real HTTP receiver in this process) and a
// poll stream; a machine client revokes its own token (RFC 7009); the SET
// is pushed (after the receiver refused the first attempt) and is fetched
// by poll, and both verify against the issuer's published JWKS. The
// operator's `mono-auth ssf stream` commands see and manage the streams.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT, ssfAudience } from "../../shared/contracts/endpoints.ts";
import { SET_MEDIA_TYPE, SSF_DELIVERY, SSF_EVENT } from "../../shared/contracts/ssf.ts";
import { GRANT_TYPE } from "../../shared/contracts/tokens.ts";
import {
  clientCredentialsToken,
  type MachineClient,
  type OperatorCli,
  operatorCli,
  orgWithMachineClient,
} from "../support/operator-cli.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

interface Push {
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

let system: RunningSystem;
let operator: OperatorCli;
let orgId: string;
let machine: MachineClient;
let receiverClient: MachineClient;
let receiver: Server;
let receiverUrl: string;
let attempts = 0;
const pushes: Push[] = [];

/** An RFC 8935 receiver: refuses the first attempt (503), then accepts (202). */
function startReceiver(): Promise<void> {
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      attempts += 1;
      if (attempts === 1) {
        response.writeHead(503).end();
        return;
      }
      pushes.push({
        authorization: request.headers.authorization,
        contentType: request.headers["content-type"],
        body: Buffer.concat(chunks).toString("utf8"),
      });
      response.writeHead(202).end();
    });
  });
  return new Promise((done) =>
    receiver.listen(0, "127.0.0.1", () => {
      receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/events`;
      done();
    }),
  );
}

async function receiverToken(): Promise<string> {
  const response = await system.fetch(ENDPOINT.token, {
    method: "POST",
    headers: {
      Authorization: `Basic ${btoa(`${receiverClient.client_id}:${receiverClient.client_secret}`)}`,
      "Content-Type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ grant_type: GRANT_TYPE.clientCredentials, resource: ssfAudience(system.origin) }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

function ssf(method: string, path: string, token: string, body?: unknown): Promise<Response> {
  return system.fetch(`${ENDPOINT.ssf}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function verifySet(jwt: string, audience: string) {
  const jwks = createRemoteJWKSet(new URL(`${system.origin}${ENDPOINT.jwks}`));
  return jwtVerify(jwt, jwks, { issuer: system.origin, audience, typ: "secevent+jwt", algorithms: ["ES256"] });
}

beforeAll(async () => {
  await startReceiver();
  system = await startSystem();
  operator = await operatorCli(system, "ssf");
  ({ orgId, client: machine } = await orgWithMachineClient(operator, "Signals"));
  receiverClient = await operator.json<MachineClient>(
    ...["client", "create", "--org", orgId, "--name", "caep-receiver", "--type", "service"],
    ...["--auth", "client_secret_basic", "--scopes", "ssf:manage revocations:read"],
    ...["--audiences", ssfAudience(system.origin)],
  );
});
afterAll(async () => {
  await system?.close();
  receiver?.close();
});

describe("SSF transmitter end to end", () => {
  it("publishes its metadata through the gateway", async () => {
    const response = await system.fetch(ENDPOINT.ssfConfiguration);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      issuer: system.origin,
      jwks_uri: `${system.origin}${ENDPOINT.jwks}`,
      delivery_methods_supported: [SSF_DELIVERY.push, SSF_DELIVERY.poll],
      configuration_endpoint: `${system.origin}/ssf/streams`,
    });
  });

  it("delivers a revoked token's SET by push and by poll", { timeout: 60_000 }, async () => {
    const token = await receiverToken();
    const events_requested = [SSF_EVENT.tokenRevoked, SSF_EVENT.sessionRevoked];
    const pushStream = await ssf("POST", "/streams", token, {
      events_requested,
      delivery: {
        method: SSF_DELIVERY.push,
        endpoint_url: receiverUrl,
        authorization_header: "Bearer from-the-receiver",
      },
    });
    expect(pushStream.status).toBe(201);
    const pollStream = await ssf("POST", "/streams", token, {
      events_requested,
      delivery: { method: SSF_DELIVERY.poll },
    });
    expect(pollStream.status).toBe(201);
    const pollId = ((await pollStream.json()) as { stream_id: string }).stream_id;

    // The machine revokes its own access token (RFC 7009).
    const accessToken = await clientCredentialsToken(system, machine);
    const jti = JSON.parse(Buffer.from(accessToken.split(".")[1] ?? "", "base64url").toString("utf8")).jti as string;
    const revoked = await system.fetch(ENDPOINT.revocation, {
      method: "POST",
      headers: {
        Authorization: `Basic ${btoa(`${machine.client_id}:${machine.client_secret}`)}`,
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams({ token: accessToken }),
    });
    expect(revoked.status).toBe(200);

    await expect.poll(() => pushes.length, { timeout: 30_000, interval: 200 }).toBe(1);
    expect(attempts).toBe(2);
    const [push] = pushes as [Push];
    expect(push.authorization).toBe("Bearer from-the-receiver");
    expect(push.contentType).toBe(SET_MEDIA_TYPE);
    const pushed = await verifySet(push.body, receiverClient.client_id);
    expect(pushed.payload.sub_id).toEqual({ format: "jwt_id", iss: system.origin, jti });
    expect(Object.keys(pushed.payload.events as object)).toEqual([SSF_EVENT.tokenRevoked]);

    let sets: Record<string, string> = {};
    await expect
      .poll(async () => {
        const answer = await ssf("POST", `/poll/${pollId}`, token, { returnImmediately: true });
        sets = ((await answer.json()) as { sets: Record<string, string> }).sets;
        return Object.keys(sets).length;
      })
      .toBe(1);
    const [[setJti, setJwt]] = Object.entries(sets) as [[string, string]];
    const polled = await verifySet(setJwt, receiverClient.client_id);
    expect(polled.payload.sub_id).toEqual({ format: "jwt_id", iss: system.origin, jti });
    const acked = await ssf("POST", `/poll/${pollId}`, token, { ack: [setJti], returnImmediately: true });
    expect(await acked.json()).toEqual({ sets: {}, moreAvailable: false });
  });

  it("lets the operator list, inspect, pause and delete the org's streams with mono-auth ssf stream", async () => {
    const created = await operator.json<{ stream_id: string }>(
      ...["ssf", "stream", "create", "--org", orgId, "--aud", "https://rp.example", "--events", "session-revoked"],
    );
    const listed = await operator.json<{ streams: { stream_id: string }[] }>("ssf", "stream", "list", "--org", orgId);
    expect(listed.streams.map((s) => s.stream_id)).toContain(created.stream_id);
    const shown = await operator.json<{ events_delivered: string[] }>(
      ...["ssf", "stream", "show", "--org", orgId, "--id", created.stream_id],
    );
    expect(shown.events_delivered).toEqual([SSF_EVENT.sessionRevoked]);
    const paused = await operator.json<{ status: string }>(
      ...["ssf", "stream", "status", "--org", orgId, "--id", created.stream_id, "--set", "paused"],
    );
    expect(paused.status).toBe("paused");
    await operator.json("ssf", "stream", "delete", "--org", orgId, "--id", created.stream_id);
    const missing = await operator.cli("ssf", "stream", "show", "--org", orgId, "--id", created.stream_id);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("not_found");
  });
});
