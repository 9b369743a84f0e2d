import { env, exports } from "cloudflare:workers";
import { decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { JWKS_KV_TTL_SECONDS } from "../../shared/contracts/storage-keys.ts";
import { tokenService } from "../../workers/gateway/src/config.ts";
import { JwksCache } from "../../workers/gateway/src/trust/jwks-cache.ts";
import { accessToken, adminRequest, registerClient } from "./dpop-fixtures.ts";

// The real token Worker signs; the gateway under test verifies. Rotations are
// made through the admin API, as an operator makes them.

/** Longest a manual rotation waits for a next key to have been published (keys/rotation.ts PUBLISH_LEAD_MS). */
const PUBLISH_LEAD_MS = 360_000;

function echo(token: string): Promise<Response> {
  return exports.default.fetch(
    new Request(`${env.ISSUER}${ENDPOINT.demoEcho}`, { headers: { Authorization: `Bearer ${token}` } }),
  );
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid as string;

/** A next key published long enough ago that a manual rotation may promote it. */
async function readyNextKey(adminToken: string): Promise<void> {
  const early = await adminRequest(adminToken, "POST", "/keys/rotate", {});
  // No next key yet, or one too recent: the refusal publishes one.
  if (early.status === 409) await early.body?.cancel();
  await env.DB.prepare("UPDATE signing_key SET created_at = ? WHERE status = 'next'")
    .bind(Date.now() - PUBLISH_LEAD_MS - 1000)
    .run();
}

async function rotate(adminToken: string, body: Record<string, unknown> = {}) {
  const response = await adminRequest(adminToken, "POST", "/keys/rotate", body);
  expect(response.status).toBe(200);
  return (await response.json()) as { current: string; retired: string[]; promoted: { from: string } | null };
}

describe("gateway across signing-key rotations", () => {
  it("no valid token fails during a rotation, and the gateway picks up the new key", async () => {
    const operator = await registerClient({ operator: true });
    const client = await registerClient();
    const before = await accessToken(client);
    expect((await echo(before)).status).toBe(200);

    await readyNextKey(await accessToken(operator));
    const report = await rotate(await accessToken(operator));
    expect(report.promoted?.from).toBe(kidOf(before));

    // Signed by the key that just stopped signing: still accepted.
    expect((await echo(before)).status).toBe(200);
    // Signed by the promoted key: the gateway finds it.
    const after = await accessToken(client);
    expect(kidOf(after)).toBe(report.current);
    expect((await echo(after)).status).toBe(200);
  });

  it("a key an emergency rotation withdrew stops verifying once a verifier rereads the JWKS", async () => {
    const operator = await registerClient({ operator: true });
    const client = await registerClient();
    const token = await accessToken(client);
    const kid = kidOf(token);
    // A verifier whose copy is due for its reread (the gateway's is after JWKS_KV_TTL_SECONDS).
    const verifier = new JwksCache({ KV: env.KV, tokenService: tokenService(env) }, 0, 0);
    expect(await verifier.resolve(kid)).toBeDefined();

    const report = await rotate(await accessToken(operator), { emergency: true, kid });
    expect(report.retired).toEqual([kid]);
    expect(await verifier.resolve(kid)).toBeUndefined();
    // The token Worker's own view (its JWKS RPC) no longer has it either.
    const fromDatabase = await tokenService(env).jwks();
    expect(fromDatabase.keys.map((k) => (k as { kid?: string }).kid)).not.toContain(kid);
    // Tokens minted now verify at the gateway.
    expect((await echo(await accessToken(client))).status).toBe(200);
  });

  it("bounds how long a gateway isolate keeps a withdrawn key: one JWKS reread a minute", () => {
    expect(JWKS_KV_TTL_SECONDS).toBeLessThanOrEqual(60);
  });
});
