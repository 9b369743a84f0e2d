import { exports } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { VAULT_REFRESH_MARGIN_SECONDS } from "../../shared/contracts/vault.ts";
import {
  INVALID_EXPIRES_IN_LIFETIME_SECONDS,
  MAX_UPSTREAM_TOKEN_LIFETIME_SECONDS,
} from "../../workers/token/src/vault/upstream-token.ts";
import { registerTestClient } from "./clients-fixtures.ts";
import { seedSession } from "./fixtures.ts";
import { bindAgent, connectAsUser, connectionRow, createProvider, routeUpstream } from "./vault-fixtures.ts";

// RFC 6749 §5.1: `expires_in` is the access token's lifetime in seconds (`1*DIGIT`, Appendix A.14).
// The provider writes it; a value that is no lifetime, or an absurd one, must never be saved as
// "no expiry" (1e300 seconds once overflowed the Date and was stored as null). Date alone is faked,
// frozen at T, so the saved expiry and the moment of the refresh are exact.
const T = Date.UTC(2026, 10, 30, 8, 0, 0);

beforeEach(() => {
  routeUpstream();
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(T);
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** A person's connection made with the provider answering `expires_in` as given, and a bound agent. */
async function connectedWith(expiresIn: string) {
  const s = await seedSession();
  const provider = await createProvider(s.orgId);
  // The test provider answers Number(expires_in): "1e300" → 1e+300, "abc" → null in its JSON.
  const connection = await connectAsUser(s, provider.name, { expires_in: expiresIn });
  const agent = await registerTestClient({ orgId: s.orgId, kind: "agent" });
  await bindAgent(s.orgId, connection.id, agent.clientId);
  const ask = async () => {
    const result = await exports.VaultService.savedToken({
      orgId: s.orgId,
      subject: s.userId,
      agentClientId: agent.clientId,
      resource: "demo-echo",
      decisionId: crypto.randomUUID(),
    });
    if (!result.ok) throw new Error(result.refusal);
    return result.authorization;
  };
  return { connection, ask };
}

/** Saved at T with `lifetime` seconds: used as is until the refresh margin, refreshed just inside it. */
async function expectExpiry(expiresIn: string, lifetime: number) {
  vi.setSystemTime(T);
  const { connection, ask } = await connectedWith(expiresIn);
  expect(connection.expires_at, expiresIn).toBe(new Date(T + lifetime * 1000).toISOString());
  expect((await connectionRow(connection.id)).expiresAt?.getTime(), expiresIn).toBe(T + lifetime * 1000);
  const refreshAt = T + (lifetime - VAULT_REFRESH_MARGIN_SECONDS) * 1000;
  vi.setSystemTime(refreshAt - 1);
  const saved = await ask();
  expect(await ask(), expiresIn).toBe(saved);
  vi.setSystemTime(refreshAt);
  expect(await ask(), expiresIn).not.toBe(saved);
}

describe("a provider's expires_in (RFC 6749 §5.1), as the vault saves and uses it", () => {
  it("reads a lifetime past the cap (1e300 seconds) as the cap: saved 90 days ahead, refreshed then", async () => {
    expect(MAX_UPSTREAM_TOKEN_LIFETIME_SECONDS).toBe(90 * 24 * 3600);
    await expectExpiry("1e300", MAX_UPSTREAM_TOKEN_LIFETIME_SECONDS);
    await expectExpiry(String(MAX_UPSTREAM_TOKEN_LIFETIME_SECONDS + 1), MAX_UPSTREAM_TOKEN_LIFETIME_SECONDS);
  });

  it("gives an expires_in that is no lifetime (negative, fractional, null) the short one: 300 s", async () => {
    expect(INVALID_EXPIRES_IN_LIFETIME_SECONDS).toBe(300);
    for (const invalid of ["-5", "3600.5", "abc"]) await expectExpiry(invalid, INVALID_EXPIRES_IN_LIFETIME_SECONDS);
  });

  it("keeps a provider's own whole-second lifetime exactly", async () => {
    await expectExpiry("3600", 3600);
  });
});
