import { env, exports } from "cloudflare:workers";
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from "jose";
import { beforeEach, describe, expect, it } from "vitest";
import { KV_KEY } from "../../shared/contracts/storage-keys.ts";
import {
  CLOCK_TOLERANCE_SECONDS,
  MAX_ACCESS_TOKEN_TTL_SECONDS,
  MAX_HOST_INVITE_TTL_SECONDS,
} from "../../shared/contracts/tokens.ts";
import { tokenConfig } from "../../workers/token/src/config.ts";
import {
  operatorRotation,
  PUBLISH_LEAD_MS,
  RETIREMENT_WINDOW_MS,
  RotationRefused,
  scheduledRotation,
} from "../../workers/token/src/keys/rotation.ts";
import { forgetCachedSigningKey, keyStore, SIGNING_KEY_CACHE_MS } from "../../workers/token/src/keys/signing-keys.ts";
import { runCron } from "./cron-fixture.ts";
import { AUDIENCE, seedSession } from "./fixtures.ts";

interface KeyRow {
  kid: string;
  status: string;
  created_at: number;
  retired_from_signing_at: number | null;
}

const store = () => keyStore(env, tokenConfig(env));
const ROTATION_PERIOD_MS = Number(env.SIGNING_KEY_ROTATION_SECONDS) * 1000;

async function rows(): Promise<KeyRow[]> {
  const { results } = await env.DB.prepare(
    "SELECT kid, status, created_at, retired_from_signing_at FROM signing_key ORDER BY created_at, kid",
  ).all<KeyRow>();
  return results;
}

async function withStatus(status: string): Promise<KeyRow[]> {
  return (await rows()).filter((r) => r.status === status);
}

async function only(status: string): Promise<KeyRow> {
  const found = await withStatus(status);
  expect(found).toHaveLength(1);
  return found[0] as KeyRow;
}

async function mint(): Promise<string> {
  const session = await seedSession();
  const result = await exports.TokenService.exchangeSession({ sessionToken: session.token, audience: AUDIENCE });
  expect(result.status).toBe(200);
  return String(result.body.access_token);
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid as string;

async function kvJwks(): Promise<JSONWebKeySet> {
  return (await env.KV.get<JSONWebKeySet>(KV_KEY.jwks, "json")) ?? { keys: [] };
}

const kidsIn = (jwks: { keys: object[] }) => jwks.keys.map((k) => (k as { kid?: string }).kid as string).sort();

/** Verifies a token the way an outside verifier does: against the JWKS as published in KV. */
async function verifiesAgainstPublished(token: string): Promise<boolean> {
  try {
    await jwtVerify(token, createLocalJWKSet(await kvJwks()));
    return true;
  } catch {
    return false;
  }
}

async function backdate(kid: string, column: "created_at" | "retired_from_signing_at", to: number): Promise<void> {
  await env.DB.prepare(`UPDATE signing_key SET ${column} = ? WHERE kid = ?`).bind(to, kid).run();
}

/** One current key and nothing else: what a fresh deployment has after its first token. */
async function freshKeySet(): Promise<string> {
  await env.DB.prepare("DELETE FROM signing_key").run();
  await env.KV.delete(KV_KEY.jwks);
  forgetCachedSigningKey();
  return mint();
}

beforeEach(async () => {
  await freshKeySet();
});

describe("scheduled rotation (the cron trigger)", () => {
  it("publishes a next key at its first run, before that key signs anything", async () => {
    const before = await mint();
    const current = await only("current");
    expect(kidOf(before)).toBe(current.kid);
    await runCron();
    const next = await only("next");
    expect(await only("current")).toEqual(current);
    expect(kidsIn(await kvJwks())).toEqual([current.kid, next.kid].sort());
    expect(kidsIn(await exports.TokenService.jwks())).toEqual([current.kid, next.kid].sort());
    // Published is not signing.
    expect(kidOf(await mint())).toBe(current.kid);
  });

  it("changes nothing while the current key is within its rotation period", async () => {
    await runCron();
    const state = await rows();
    const published = await env.KV.get(KV_KEY.jwks);
    await runCron();
    expect(await rows()).toEqual(state);
    expect(await env.KV.get(KV_KEY.jwks)).toBe(published);
  });

  it("promotes at the end of the period: next signs, current only verifies, a new next is published", async () => {
    const before = await mint();
    await runCron();
    const first = await only("current");
    const second = await only("next");
    await backdate(second.kid, "created_at", Date.now() - ROTATION_PERIOD_MS - 1000);
    const promotedAt = Date.now();
    await runCron();

    expect((await only("current")).kid).toBe(second.kid);
    const previous = await only("previous");
    expect(previous.kid).toBe(first.kid);
    expect(previous.retired_from_signing_at).toBeGreaterThanOrEqual(promotedAt);
    const third = await only("next");
    expect([first.kid, second.kid]).not.toContain(third.kid);
    expect(kidsIn(await kvJwks())).toEqual([first.kid, second.kid, third.kid].sort());

    // No valid token fails during a rotation: the one signed before still verifies.
    expect(await verifiesAgainstPublished(before)).toBe(true);
    const after = await mint();
    expect(kidOf(after)).toBe(second.kid);
    expect(await verifiesAgainstPublished(after)).toBe(true);
  });

  it("retires the previous key once every token it signed has expired, and drops it from the JWKS", async () => {
    const before = await mint();
    await runCron();
    const first = await only("current");
    await backdate((await only("next")).kid, "created_at", Date.now() - ROTATION_PERIOD_MS - 1000);
    await runCron();
    expect((await only("previous")).kid).toBe(first.kid);

    // A minute short of its window, it still verifies.
    await backdate(first.kid, "retired_from_signing_at", Date.now() - RETIREMENT_WINDOW_MS + 60_000);
    await runCron();
    expect((await only("previous")).kid).toBe(first.kid);
    expect(await verifiesAgainstPublished(before)).toBe(true);

    await backdate(first.kid, "retired_from_signing_at", Date.now() - RETIREMENT_WINDOW_MS - 1000);
    await runCron();
    expect(await withStatus("previous")).toEqual([]);
    // Kept in D1 for the record, never published again.
    expect((await only("retired")).kid).toBe(first.kid);
    expect(kidsIn(await kvJwks())).not.toContain(first.kid);
    expect(kidsIn(await exports.TokenService.jwks())).not.toContain(first.kid);
    expect(await verifiesAgainstPublished(before)).toBe(false);
  });

  it("keeps a key published for longer than anything it signed can live", () => {
    const longest = Math.max(MAX_ACCESS_TOKEN_TTL_SECONDS, MAX_HOST_INVITE_TTL_SECONDS);
    expect(RETIREMENT_WINDOW_MS).toBe((longest + CLOCK_TOLERANCE_SECONDS) * 1000 + SIGNING_KEY_CACHE_MS);
  });

  it("rewrites a KV copy that does not list the published keys, and only then", async () => {
    await runCron();
    const expected = kidsIn(await kvJwks());
    await env.KV.put(KV_KEY.jwks, JSON.stringify({ keys: [] }));
    await runCron();
    expect(kidsIn(await kvJwks())).toEqual(expected);
  });

  it("makes exactly one rotation when ten isolates run it at once", async () => {
    await runCron();
    const first = await only("current");
    const second = await only("next");
    await backdate(second.kid, "created_at", Date.now() - ROTATION_PERIOD_MS - 1000);
    const period = Number(env.SIGNING_KEY_ROTATION_SECONDS);
    const reports = await Promise.all(
      Array.from({ length: 10 }, () => scheduledRotation(store(), { rotationPeriodSeconds: period })),
    );
    expect(reports.filter((r) => r.promoted !== null)).toHaveLength(1);
    expect((await only("current")).kid).toBe(second.kid);
    expect((await only("previous")).kid).toBe(first.kid);
    await only("next");
    expect(await rows()).toHaveLength(3);
    expect(kidsIn(await kvJwks())).toEqual((await rows()).map((r) => r.kid).sort());
  });
});

describe("operator rotation", () => {
  it("emergency: the key stops verifying at once, the next key signs, a fresh next is published", async () => {
    const before = await mint();
    await runCron();
    const compromised = await only("current");
    const next = await only("next");
    const report = await operatorRotation(store(), { emergency: true });

    expect(report.retired).toEqual([compromised.kid]);
    expect(report.promoted).toEqual({ from: compromised.kid, to: next.kid });
    const retired = await only("retired");
    expect(retired.kid).toBe(compromised.kid);
    expect(retired.retired_from_signing_at).not.toBeNull();
    expect((await only("current")).kid).toBe(next.kid);
    const fresh = await only("next");
    expect(kidsIn(await kvJwks())).toEqual([next.kid, fresh.kid].sort());
    expect(kidsIn(await exports.TokenService.jwks())).toEqual([next.kid, fresh.kid].sort());
    expect(await verifiesAgainstPublished(before)).toBe(false);
    // This isolate never signs with the retired key again.
    expect(kidOf(await mint())).toBe(next.kid);
  });

  it("emergency with no next key yet: a fresh key signs at once", async () => {
    const compromised = await only("current");
    const report = await operatorRotation(store(), { emergency: true });
    expect(report.retired).toEqual([compromised.kid]);
    const current = await only("current");
    expect(current.kid).not.toBe(compromised.kid);
    await only("next");
    expect(kidsIn(await kvJwks())).not.toContain(compromised.kid);
    expect(kidOf(await mint())).toBe(current.kid);
  });

  it("emergency on a previous key retires only it", async () => {
    await runCron();
    const first = await only("current");
    await backdate((await only("next")).kid, "created_at", Date.now() - PUBLISH_LEAD_MS - 1000);
    await operatorRotation(store(), { emergency: false });
    expect((await only("previous")).kid).toBe(first.kid);
    const current = await only("current");
    const next = await only("next");
    const report = await operatorRotation(store(), { emergency: true, kid: first.kid });
    expect(report.retired).toEqual([first.kid]);
    expect(report.promoted).toBeNull();
    expect((await only("current")).kid).toBe(current.kid);
    expect((await only("next")).kid).toBe(next.kid);
    expect(kidsIn(await kvJwks())).toEqual([current.kid, next.kid].sort());
  });

  it("emergency: concurrent requests for the same key make one rotation", async () => {
    await runCron();
    const compromised = await only("current");
    const next = await only("next");
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, () => operatorRotation(store(), { emergency: true, kid: compromised.kid })),
    );
    // A request that read the keys before the winner retired the key loses its conditional retire and
    // retires nothing; one the scheduler ran after it finds no such published key, as an operator's retry
    // does ("emergency on a key that is not published is refused"). Which of them run late is not ours.
    const reports = outcomes.flatMap((outcome) => (outcome.status === "fulfilled" ? [outcome.value] : []));
    for (const outcome of outcomes) {
      if (outcome.status === "rejected") {
        expect(outcome.reason).toBeInstanceOf(RotationRefused);
        expect(outcome.reason).toMatchObject({ reason: "unknown_key", message: `no published key ${compromised.kid}` });
      }
    }
    expect(reports.filter((r) => r.retired.includes(compromised.kid))).toHaveLength(1);
    expect((await only("retired")).kid).toBe(compromised.kid);
    expect((await only("current")).kid).toBe(next.kid);
    await only("next");
    expect(await rows()).toHaveLength(3);
  });

  it("emergency on a key that is not published is refused", async () => {
    await expect(operatorRotation(store(), { emergency: true, kid: "no-such-kid" })).rejects.toBeInstanceOf(
      RotationRefused,
    );
  });

  it("manual: refused until the next key has been published long enough, then promotes it", async () => {
    await runCron();
    const first = await only("current");
    const next = await only("next");
    await expect(operatorRotation(store(), { emergency: false })).rejects.toBeInstanceOf(RotationRefused);
    expect((await only("current")).kid).toBe(first.kid);
    await backdate(next.kid, "created_at", Date.now() - PUBLISH_LEAD_MS - 1000);
    const report = await operatorRotation(store(), { emergency: false });
    expect(report.promoted).toEqual({ from: first.kid, to: next.kid });
    expect((await only("previous")).kid).toBe(first.kid);
  });

  it("manual on a fresh deployment publishes a next key and refuses to sign with it yet", async () => {
    await expect(operatorRotation(store(), { emergency: false })).rejects.toBeInstanceOf(RotationRefused);
    const next = await only("next");
    expect(kidsIn(await kvJwks())).toContain(next.kid);
  });
});
