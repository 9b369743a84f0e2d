import { env } from "cloudflare:workers";
import { decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { KV_KEY } from "../../shared/contracts/storage-keys.ts";
import { tokenConfig } from "../../workers/token/src/config.ts";
import { PUBLISH_LEAD_MS, scheduledRotation } from "../../workers/token/src/keys/rotation.ts";
import { keyStore } from "../../workers/token/src/keys/signing-keys.ts";
import { adminRequest, adminToken, expectHttpError, registerOperator } from "./admin-fixtures.ts";

interface KeyView {
  kid: string;
  status: string;
  created_at: string;
  retired_from_signing_at: string | null;
  retires_at: string | null;
}

async function listKeys(token: string): Promise<KeyView[]> {
  const response = await adminRequest("GET", "/keys", { token });
  expect(response.status).toBe(200);
  return ((await response.json()) as { keys: KeyView[] }).keys;
}

/** What the cron does first on a deployment: a current key and a published next key. */
async function withNextKey(): Promise<void> {
  await scheduledRotation(keyStore(env, tokenConfig(env)), {
    rotationPeriodSeconds: Number(env.SIGNING_KEY_ROTATION_SECONDS),
  });
}

/** The kids a JWKS document (KV's copy) lists. */
function published(jwks: string | null): string[] {
  return ((JSON.parse(jwks ?? "{}") as { keys?: { kid: string }[] }).keys ?? []).map((k) => k.kid);
}

async function backdateNext(): Promise<void> {
  await env.DB.prepare("UPDATE signing_key SET created_at = ? WHERE status = 'next'")
    .bind(Date.now() - PUBLISH_LEAD_MS - 1000)
    .run();
}

describe("admin API: signing keys", () => {
  it("lists the keys with their status and times, and no private material", async () => {
    const token = await adminToken();
    await withNextKey();
    const response = await adminRequest("GET", "/keys", { token });
    const text = await response.text();
    expect(text).not.toMatch(/private|"d"/);
    const keys = (JSON.parse(text) as { keys: KeyView[] }).keys;
    expect(keys.filter((k) => k.status === "current")).toHaveLength(1);
    expect(keys.filter((k) => k.status === "next")).toHaveLength(1);
    for (const key of keys) expect(new Date(key.created_at).toISOString()).toBe(key.created_at);
  });

  it("rotates on request once the next key has been published long enough (409 before), and the caller's token still works", async () => {
    const token = await adminToken();
    await withNextKey();
    const before = await listKeys(token);
    const current = before.find((k) => k.status === "current") as KeyView;
    const next = before.find((k) => k.status === "next") as KeyView;

    await expectHttpError(await adminRequest("POST", "/keys/rotate", { token, body: {} }), 409, "conflict");
    await backdateNext();
    const response = await adminRequest("POST", "/keys/rotate", { token, body: {} });
    expect(response.status).toBe(200);
    const report = (await response.json()) as { current: string; promoted: { from: string; to: string } | null };
    expect(report.promoted).toEqual({ from: current.kid, to: next.kid });

    // The token signed by the key that just stopped signing still verifies.
    const after = await listKeys(token);
    const previous = after.find((k) => k.kid === current.kid) as KeyView;
    expect(previous.status).toBe("previous");
    expect(previous.retires_at).not.toBeNull();
    expect(after.find((k) => k.kid === next.kid)?.status).toBe("current");
  });

  it("emergency: the retired key stops verifying at once, even the caller's own token", async () => {
    const operator = await registerOperator();
    const token = await adminToken(operator);
    await withNextKey();
    const compromised = decodeProtectedHeader(token).kid as string;
    const response = await adminRequest("POST", "/keys/rotate", { token, body: { emergency: true } });
    expect(response.status).toBe(200);
    const report = (await response.json()) as { retired: string[]; current: string };
    expect(report.retired).toEqual([compromised]);
    expect(report.current).not.toBe(compromised);

    const refused = await adminRequest("GET", "/keys", { token });
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error_description: string }).error_description).toMatch(
      /^ERR_TOKEN_KID_UNKNOWN/,
    );
    const fresh = await adminToken(operator);
    expect(decodeProtectedHeader(fresh).kid).toBe(report.current);
    const keys = await listKeys(fresh);
    expect(keys.find((k) => k.kid === compromised)?.status).toBe("retired");
  });

  it("emergency: a retry for a key already retired still takes it out of the JWKS copy a failed rewrite left", async () => {
    const operator = await registerOperator();
    const token = await adminToken(operator);
    await withNextKey();
    const compromised = decodeProtectedHeader(token).kid as string;
    const before = await env.KV.get(KV_KEY.jwks);
    expect(published(before)).toContain(compromised);
    expect((await adminRequest("POST", "/keys/rotate", { token, body: { emergency: true } })).status).toBe(200);
    // D1 retired it; the KV copy the gateways read still lists it, as when that rewrite failed.
    await env.KV.put(KV_KEY.jwks, before as string);
    const fresh = await adminToken(operator);
    const retry = { token: fresh, body: { emergency: true, kid: compromised } };
    await expectHttpError(await adminRequest("POST", "/keys/rotate", retry), 404, "not_found");
    expect(published(await env.KV.get(KV_KEY.jwks))).not.toContain(compromised);
  });

  it("refuses what it cannot do, each with its code", async () => {
    const token = await adminToken();
    await withNextKey();
    const cases: [unknown, number, string][] = [
      [{ emergency: true, kid: "no-such-key" }, 404, "not_found"],
      [{ kid: "some-key" }, 400, "invalid_body"],
      [{ emergency: "yes" }, 400, "invalid_body"],
      [{ urgent: true }, 400, "invalid_body"],
      ["[]", 400, "invalid_body"],
    ];
    for (const [body, status, code] of cases) {
      await expectHttpError(await adminRequest("POST", "/keys/rotate", { token, body }), status, code);
    }
    await expectHttpError(await adminRequest("GET", "/keys"), 401, "unauthorized");
  });

  it("audits each rotation as an admin action", async () => {
    const operator = await registerOperator();
    const token = await adminToken(operator);
    await withNextKey();
    await backdateNext();
    expect((await adminRequest("POST", "/keys/rotate", { token, body: {} })).status).toBe(200);
    await expect
      .poll(async () =>
        (
          await env.AUDIT_DB.prepare(
            "SELECT detail FROM audit_event WHERE kind = 'admin.action' AND client_id = ? ORDER BY occurred_at",
          )
            .bind(operator.clientId)
            .all<{ detail: string }>()
        ).results.map((r) => JSON.parse(r.detail) as Record<string, unknown>),
      )
      .toEqual([expect.objectContaining({ action: "keys.rotate", emergency: false, status: 200 })]);
  });
});
