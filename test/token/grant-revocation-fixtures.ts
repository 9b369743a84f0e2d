import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { expect } from "vitest";
import type { RevocationLogEvent } from "../../shared/contracts/revocation.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import {
  type AccessTokenClaims,
  CLOCK_TOLERANCE_SECONDS,
  MAX_ACCESS_TOKEN_TTL_SECONDS,
} from "../../shared/contracts/tokens.ts";
import { isTokenRevoked } from "../../shared/revocation/is-token-revoked.ts";
import { GRANT_RECORDING_SLACK_SECONDS } from "../../workers/token/src/revocations/grant-revocation.ts";
import { adminRequest, expectHttpError } from "./admin-fixtures.ts";
import { clientToken } from "./clients-fixtures.ts";
import { introspected } from "./revocation-fixtures.ts";
import {
  delegationParams,
  exchange,
  grantDelegation,
  issued,
  orgWithAgent,
  userToken,
} from "./token-exchange-fixtures.ts";

// Shared by the grant revocation tests (workers/token/src/revocations/
// grant-revocation.ts): delegation grants (grant-revocation-recorded-first.test.ts,
// grant-revocation-second-recording.test.ts) and MCP grants
// (mcp-grant-recorded-first.test.ts). What the org's object and D1 hold
// after a revocation, and the two real refusals those tests provoke.
//
// The org's object is made to refuse as in mcp-access-review.test.ts and
// oidc-grant-owed-cutoff.test.ts: it records no value longer than 256
// characters, so the grant's row is given an id that long ("the object is
// back" is the row given its own id again). D1 is made to fail for one row by
// a trigger that aborts the update of that row: a real D1 error, no binding
// mocked.

export const INACTIVE = { active: false };

/** The tables whose grants a revocation marks in D1. */
export type GrantTable = "delegation_grant" | "mcp_grant";

/** Longer than the org's object records (a revocation value is 1..256 characters). */
export const unrecordable = (id: string) => `${id}${"0".repeat(300)}`;

/** Gives a grant's row another id: an unrecordable one, or its own back. */
export const renameGrant = (table: GrantTable, from: string, to: string) =>
  env.DB.prepare(`UPDATE ${table} SET id = ? WHERE id = ?`).bind(to, from).run();

/** D1 refuses to update this one row until the returned function is called. */
async function refuseUpdates(table: GrantTable, id: string): Promise<() => Promise<void>> {
  const trigger = `refuse_${crypto.randomUUID().replaceAll("-", "")}`;
  await env.DB.prepare(
    `CREATE TRIGGER ${trigger} BEFORE UPDATE ON ${table} WHEN OLD.id = '${id}'
     BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`,
  ).run();
  return async () => {
    await env.DB.prepare(`DROP TRIGGER ${trigger}`).run();
  };
}

/** The operator's DELETE of a grant, answered 503 temporarily_unavailable. */
export async function expectUnavailable(operator: string, path: string): Promise<void> {
  await expectHttpError(await adminRequest("DELETE", path, { token: operator }), 503, "temporarily_unavailable");
}

/** The operator's DELETE of a grant while D1 refuses to update its row: 503 temporarily_unavailable. */
export async function expectUnavailableWhileD1Refuses(
  operator: string,
  path: string,
  table: GrantTable,
  id: string,
): Promise<void> {
  const allow = await refuseUpdates(table, id);
  try {
    await expectUnavailable(operator, path);
  } finally {
    await allow();
  }
}

/** The operator's DELETE of a grant, answered 200; `answeredAt` (ms) is read after it. */
export async function revokedOk(operator: string, path: string): Promise<{ response: Response; answeredAt: number }> {
  const response = await adminRequest("DELETE", path, { token: operator });
  expect(response.status).toBe(200);
  return { response, answeredAt: Date.now() };
}

/**
 * Two DELETEs of the same grant fired at once: both 200, both views
 * `revoked` with one `revoked_at`. `answeredAt` (ms) is read after both.
 */
export async function revokedTwiceAtOnce<View extends { status: string; revoked_at: string | null }>(
  operator: string,
  path: string,
): Promise<{ views: View[]; answeredAt: number }> {
  const responses = await Promise.all([0, 1].map(() => adminRequest("DELETE", path, { token: operator })));
  expect(responses.map((response) => response.status)).toEqual([200, 200]);
  const views = (await Promise.all(responses.map((response) => response.json()))) as View[];
  expect(views.map((view) => view.status)).toEqual(["revoked", "revoked"]);
  const answeredAt = Date.now();
  expect(views[0]?.revoked_at).toBe(views[1]?.revoked_at);
  return { views, answeredAt };
}

export async function grantEntries(orgId: string): Promise<string[]> {
  const snapshot = await env.ORG_STATE.getByName(orgStateName(orgId)).snapshot(orgId);
  return snapshot.entries.filter((entry) => entry.kind === "grant").map((entry) => entry.value);
}

/** The grant's events in the org's log: what subscribers, gateway channels and SSF receivers are sent. */
export async function grantEvents(orgId: string, grantId: string): Promise<RevocationLogEvent[]> {
  const changes = await env.ORG_STATE.getByName(orgStateName(orgId)).changesSince(0);
  if (changes.kind !== "changes") throw new Error(`the org's log answered ${changes.kind}`);
  return changes.events.filter((event) => event.kind === "grant" && event.value === grantId);
}

/** Each recorded with the slack: it lives that much past the longest token lifetime and the clock tolerance. */
function expectSlack(events: RevocationLogEvent[]): void {
  for (const event of events) {
    expect(event.expires_at - event.revoked_at).toBe(
      MAX_ACCESS_TOKEN_TTL_SECONDS + CLOCK_TOLERANCE_SECONDS + GRANT_RECORDING_SLACK_SECONDS,
    );
  }
}

/**
 * The grant's entry outlives every token of it: D1 marked it revoked before
 * the answer (`answeredAt`, ms, read after it), so a mint that read the
 * grant active has an `iat` no later (mint/mint-access-token.ts), and its
 * token is accepted until at most that plus the longest lifetime and the
 * clock tolerance.
 */
export async function expectOutlivesEveryToken(orgId: string, grantId: string, answeredAt: number): Promise<void> {
  const snapshot = await env.ORG_STATE.getByName(orgStateName(orgId)).snapshot(orgId);
  const entry = snapshot.entries.find((e) => e.kind === "grant" && e.value === grantId);
  const lastAccepted = Math.floor(answeredAt / 1000) + MAX_ACCESS_TOKEN_TTL_SECONDS + CLOCK_TOLERANCE_SECONDS;
  expect(entry?.expiresAt).toBeGreaterThanOrEqual(lastAccepted);
}

/**
 * The grant's log holds `count` events, each recorded with the slack, and,
 * given when D1's answer came (`answeredAt`), its entry outlives every token
 * of it.
 */
export async function expectRecordedWithSlack(
  orgId: string,
  grantId: string,
  count: number,
  answeredAt?: number,
): Promise<void> {
  const events = await grantEvents(orgId, grantId);
  expect(events).toHaveLength(count);
  expectSlack(events);
  if (answeredAt !== undefined) await expectOutlivesEveryToken(orgId, grantId, answeredAt);
}

/** Whether the gateway's rules (the same function its view follows) refuse the token from the object's state. */
export async function refusedByGatewayRules(orgId: string, token: string): Promise<boolean> {
  const snapshot = await env.ORG_STATE.getByName(orgStateName(orgId)).snapshot(orgId);
  return isTokenRevoked(snapshot, decodeJwt(token) as unknown as AccessTokenClaims);
}

/** A person's delegation grant to an agent, and a token the agent got under it by token exchange (RFC 8693). */
export async function delegatedWorld() {
  const { orgId, userId, agent } = await orgWithAgent();
  const grant = await grantDelegation(orgId, userId, agent);
  const attempt = async () =>
    exchange(agent, delegationParams(await userToken(orgId, userId), await clientToken(agent)));
  const delegated = (await issued(await attempt())).body.access_token;
  expect(decodeJwt(delegated).grant_id).toBe(grant.id);
  expect(await introspected(delegated, agent)).toMatchObject({ active: true });
  return { orgId, agent, grant, delegated, attempt };
}
