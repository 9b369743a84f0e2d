import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
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

// RFC 6749 §5.1 / Appendix A.12: the provider writes the access token, and the gateway puts it on the
// upstream request as Authorization (RFC 6750 §2.1). A token with CR, LF, NUL or edge whitespace is no
// HTTP field value (RFC 9110 §5.5): the gateway refuses it at every use (961d9f0), so the token Worker
// must refuse it as the provider answers, in the connect flow and at refresh alike, saving nothing.

/** The provider's token answers, their access_token spoiled while a test says so. */
const answers = spoilableTokenAnswers("access_token");

const SPOILERS: [string, (token: string) => string][] = [
  ["CRLF and a header", (t) => `${t}\r\nX-Injected: 1`],
  ["a trailing LF", (t) => `${t}\n`],
  ["a NUL", (t) => `${t}\u0000x`],
  ["a leading space", (t) => ` ${t}`],
  ["a trailing tab", (t) => `${t}\t`],
];

describe("a provider's access token that is no header field value (RFC 9110 §5.5)", () => {
  it("fails the connect flow 502 connection_failed, saves nothing, and never repeats the token", async () => {
    for (const [name, spoiler] of SPOILERS) {
      const s = await seedSession();
      const provider = await createProvider(s.orgId);
      const back = await atProvider(await startAsUser(s, provider.name));
      answers.spoil(spoiler);
      const refused = await expectOAuthError(await callback(back, s), 502, "connection_failed");
      answers.spoil(null);
      expect(refused.error_description, name).toBe(
        "ERR_VAULT_UPSTREAM: token response's access_token is no header field value",
      );
      expect(JSON.stringify(refused), name).not.toMatch(/up-at-|up-rt-/);
      expect(await connectionsOf(s.orgId), name).toBe(0);
    }
  });

  it("fails a refresh: the saved token stays as it was and the use is refused saved_connection_expired", async () => {
    for (const [name, spoiler] of SPOILERS) {
      // A connection each: the provider rotates the refresh token as it answers (spoilt or not).
      const s = await seedSession();
      const provider = await createProvider(s.orgId);
      const connection = await connectAsUser(s, provider.name);
      const agent = await registerTestClient({ orgId: s.orgId, kind: "agent" });
      await bindAgent(s.orgId, connection.id, agent.clientId);
      const before = await connectionRow(connection.id);
      answers.spoil(spoiler);
      const result = await exports.VaultService.savedToken({
        orgId: s.orgId,
        subject: s.userId,
        agentClientId: agent.clientId,
        resource: "demo-echo",
        decisionId: crypto.randomUUID(),
        forceRefresh: true,
      });
      answers.spoil(null);
      expect(result, name).toEqual({ ok: false, refusal: "saved_connection_expired", connectionId: connection.id });
      expect((await connectionRow(connection.id)).accessTokenSealed, name).toBe(before.accessTokenSealed);
      expect(
        (await upstreamRequests(provider.name)).map((r) => r.grant_type),
        name,
      ).toEqual(["authorization_code", "refresh_token"]);
    }
  });
});
