import { env, exports } from "cloudflare:workers";
import { ENDPOINT, ssfAudience } from "../../shared/contracts/endpoints.ts";
import type { RevocationKind } from "../../shared/contracts/revocation.ts";
import { SCOPE } from "../../shared/contracts/scopes.ts";
import { SSF_DELIVERY } from "../../shared/contracts/ssf.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { clientToken, registerTestClient, type TestClient } from "./clients-fixtures.ts";

export const SSF_AUDIENCE = ssfAudience(env.ISSUER);

/** An org's SSF receiver client: `ssf:manage` and `revocations:read`, for the transmitter's audience. */
export function registerReceiver(orgId?: string, scopes: string[] = [SCOPE.ssfManage, SCOPE.revocationsRead]) {
  return registerTestClient({ orgId, scopes, audiences: [SSF_AUDIENCE] });
}

/** Its token, by client_credentials, as a receiver gets one. */
export function receiverToken(client: TestClient): Promise<string> {
  return clientToken(client, SSF_AUDIENCE);
}

/** A call below ENDPOINT.ssf (or any path starting with `/`). */
export function ssfRequest(
  method: string,
  path: string,
  token: string | undefined,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  const all: Record<string, string> = { ...headers };
  if (token) all.Authorization = `Bearer ${token}`;
  if (body !== undefined) all["Content-Type"] ??= "application/json";
  const target = path.startsWith("/.well-known") ? path : `${ENDPOINT.ssf}${path}`;
  return exports.default.fetch(
    new Request(`http://localhost${target}`, {
      method,
      headers: all,
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
}

/** Creates a stream (poll unless `delivery` says otherwise) and answers its id. */
export async function createStream(token: string, body: Record<string, unknown> = {}): Promise<string> {
  const response = await ssfRequest("POST", "/streams", token, {
    delivery: { method: SSF_DELIVERY.poll },
    ...body,
  });
  if (response.status !== 201) throw new Error(`create stream: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { stream_id: string }).stream_id;
}

/** Records a revocation in the org's Durable Object, as every producer does. */
export function revokeInOrg(orgId: string, kind: RevocationKind, value: string, reason = "operator"): Promise<number> {
  return env.ORG_STATE.getByName(orgStateName(orgId)).revoke({ orgId, kind, value, reason });
}

/** RFC 8936 §2.4: one poll of a stream. */
export async function poll(
  token: string,
  streamId: string,
  body: Record<string, unknown> = {},
): Promise<{ sets: Record<string, string>; moreAvailable: boolean }> {
  const response = await ssfRequest("POST", `/poll/${streamId}`, token, { returnImmediately: true, ...body });
  if (response.status !== 200) throw new Error(`poll: ${response.status} ${await response.text()}`);
  return response.json();
}

/** The receiver Worker the transmitter pushes to (test/support/runtime/ssf-receiver). */
export function receiverLog(name: string): Promise<{
  attempts: number;
  received: { authorization: string | null; contentType: string | null; body: string }[];
}> {
  const receiver = (env as unknown as { SSF_TEST_RECEIVER: Fetcher }).SSF_TEST_RECEIVER;
  return receiver.fetch(`https://receiver.test/push/${name}`).then((r) => r.json());
}
