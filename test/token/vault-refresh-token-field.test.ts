import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { tokenPlace } from "../../workers/token/src/vault/connections.ts";
import { sealField } from "../../workers/token/src/vault/sealed-field.ts";
import { orgDataKey, vaultSecret } from "../../workers/token/src/vault/vault-key.ts";
import { registerTestClient } from "./clients-fixtures.ts";
import { expectOAuthError, seedSession } from "./fixtures.ts";
import {
  atProvider,
  bindAgent,
  callback,
  connectAsUser,
  connectionRow,
  connectionsOf,
  createProvider,
  spoilableTokenAnswers,
  startAsUser,
  upstreamRequests,
} from "./vault-fixtures.ts";

// RFC 6749 Appendix A.17: a refresh token is 1*VSCHAR (%x20-7E). One with a C0 control character or
// DEL is only ever form-encoded back to the provider, so it did no harm there, but it is no refresh
// token: the answer carrying it is refused whole, as a bad access_token is (vault-token-field-value
// .test.ts), and a row saved before that check never presents its refresh token again.

/** The provider's token answers, their refresh_token spoiled while a test says so. */
const answers = spoilableTokenAnswers("refresh_token");

const SPOILERS: [string, (token: string) => string][] = [
  ["a NUL", (t) => `${t}\u0000`],
  ["SOH", (t) => `\u0001${t}`],
  ["an ESC sequence", (t) => `${t}\u001b[2J`],
  ["CRLF", (t) => `${t}\r\nX: 1`],
  ["a tab inside", (t) => `${t.slice(0, 4)}\t${t.slice(4)}`],
  ["DEL", (t) => `${t}\u007f`],
];

/** A person's connection with a bound agent, and the gateway's ask for its token. */
async function connected() {
  const s = await seedSession();
  const provider = await createProvider(s.orgId);
  const connection = await connectAsUser(s, provider.name);
  const agent = await registerTestClient({ orgId: s.orgId, kind: "agent" });
  await bindAgent(s.orgId, connection.id, agent.clientId);
  const ask = (forceRefresh: boolean) =>
    exports.VaultService.savedToken({
      orgId: s.orgId,
      subject: s.userId,
      agentClientId: agent.clientId,
      resource: "demo-echo",
      decisionId: crypto.randomUUID(),
      forceRefresh,
    });
  return { s, provider, connection, ask };
}

describe("a provider's refresh token with a control character (RFC 6749 Appendix A.17)", () => {
  it("fails the connect flow 502 connection_failed ERR_VAULT_UPSTREAM, saves nothing, never repeats it", async () => {
    for (const [name, spoiler] of SPOILERS) {
      const s = await seedSession();
      const provider = await createProvider(s.orgId);
      const back = await atProvider(await startAsUser(s, provider.name));
      answers.spoil(spoiler);
      const refused = await expectOAuthError(await callback(back, s), 502, "connection_failed");
      answers.spoil(null);
      expect(refused.error_description, name).toBe(
        "ERR_VAULT_UPSTREAM: token response's refresh_token has a control character",
      );
      expect(JSON.stringify(refused), name).not.toMatch(/up-at-|up-rt-/);
      expect(await connectionsOf(s.orgId), name).toBe(0);
    }
  });

  it("fails a refresh: the saved tokens stay as they were and the use is refused saved_connection_expired", async () => {
    for (const [name, spoiler] of SPOILERS) {
      const { connection, provider, ask } = await connected();
      const before = await connectionRow(connection.id);
      answers.spoil(spoiler);
      const result = await ask(true);
      answers.spoil(null);
      expect(result, name).toEqual({ ok: false, refusal: "saved_connection_expired", connectionId: connection.id });
      const after = await connectionRow(connection.id);
      expect([after.accessTokenSealed, after.refreshTokenSealed], name).toEqual([
        before.accessTokenSealed,
        before.refreshTokenSealed,
      ]);
      expect(
        (await upstreamRequests(provider.name)).map((r) => r.grant_type),
        name,
      ).toEqual(["authorization_code", "refresh_token"]);
    }
  });

  it("a row saved before the check: its access token serves while valid, then the refresh token is never sent", async () => {
    const { s, connection, provider, ask } = await connected();
    // As a provider's answer was saved before: the refresh token sealed in place with a control character.
    const key = await orgDataKey(env.DB, vaultSecret(env), s.orgId);
    const sealed = await sealField(
      key,
      tokenPlace({ orgId: s.orgId, id: connection.id }, "refresh_token"),
      "rt\u0001x",
    );
    await env.DB.prepare("UPDATE vault_connection SET refresh_token_sealed = ? WHERE id = ?")
      .bind(sealed, connection.id)
      .run();

    // Valid: used as it is.
    expect(await ask(false)).toMatchObject({ ok: true, connectionId: connection.id });
    // Refused upstream (the gateway's retry on a 401), and past its expiry: refused, nothing presented.
    const expired = { ok: false, refusal: "saved_connection_expired", connectionId: connection.id };
    expect(await ask(true)).toEqual(expired);
    await env.DB.prepare("UPDATE vault_connection SET expires_at = ? WHERE id = ?")
      .bind(Date.now() - 1_000, connection.id)
      .run();
    expect(await ask(false)).toEqual(expired);
    expect((await upstreamRequests(provider.name)).map((r) => r.grant_type)).toEqual(["authorization_code"]);
    // The row keeps what it holds (its owner reconnects), and no claim is left on it.
    const row = await connectionRow(connection.id);
    expect(row.refreshTokenSealed).toBe(sealed);
    expect(row.updatedAt.getTime()).toBeLessThanOrEqual(Date.now());

    const causes = await vi.waitUntil(
      async () => {
        const rows = await env.AUDIT_DB.prepare(
          "SELECT detail FROM audit_event WHERE org_id = ? AND kind = 'vault.token_refused'",
        )
          .bind(s.orgId)
          .all<{ detail: string }>();
        return rows.results.length === 2 ? rows.results.map((r) => JSON.parse(r.detail)) : undefined;
      },
      { timeout: 10_000, interval: 100 },
    );
    for (const detail of causes) {
      expect(detail).toMatchObject({
        error: "saved_connection_expired",
        connection_id: connection.id,
        cause: "the connection's refresh token has a control character; reconnect",
      });
      expect(JSON.stringify(detail)).not.toContain("rt\u0001x");
    }
  });
});
