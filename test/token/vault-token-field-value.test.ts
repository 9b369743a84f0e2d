import { env, exports } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { registerTestClient } from "./clients-fixtures.ts";
import { expectOAuthError, seedSession } from "./fixtures.ts";
import {
  atProvider,
  bindAgent,
  callback,
  connectAsUser,
  connectionRow,
  createProvider,
  startAsUser,
  UPSTREAM,
  upstream,
  upstreamRequests,
} from "./vault-fixtures.ts";

// RFC 6749 §5.1 / Appendix A.12: the provider writes the access token, and the gateway puts it on the
// upstream request as Authorization (RFC 6750 §2.1). A token with CR, LF, NUL or edge whitespace is no
// HTTP field value (RFC 9110 §5.5): the gateway refuses it at every use (961d9f0), so the token Worker
// must refuse it as the provider answers, in the connect flow and at refresh alike, saving nothing.

/** How the provider's token endpoint spoils the access token it issues; null: as issued. */
let spoil: ((token: string) => string) | null = null;

const SPOILERS: [string, (token: string) => string][] = [
  ["CRLF and a header", (t) => `${t}\r\nX-Injected: 1`],
  ["a trailing LF", (t) => `${t}\n`],
  ["a NUL", (t) => `${t}\u0000x`],
  ["a leading space", (t) => ` ${t}`],
  ["a trailing tab", (t) => `${t}\t`],
];

beforeEach(() => {
  spoil = null;
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.origin !== UPSTREAM) return realFetch(input, init);
    const answer = await upstream().fetch(request);
    if (!spoil || url.pathname !== "/token" || answer.status !== 200) return answer;
    const body = (await answer.json()) as Record<string, unknown>;
    body.access_token = spoil(String(body.access_token));
    return Response.json(body);
  });
});
afterEach(() => {
  spoil = null;
  vi.restoreAllMocks();
});

async function connectionsOf(orgId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM vault_connection WHERE org_id = ?")
    .bind(orgId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

describe("a provider's access token that is no header field value (RFC 9110 §5.5)", () => {
  it("fails the connect flow 502 connection_failed, saves nothing, and never repeats the token", async () => {
    for (const [name, spoiler] of SPOILERS) {
      const s = await seedSession();
      const provider = await createProvider(s.orgId);
      const back = await atProvider(await startAsUser(s, provider.name));
      spoil = spoiler;
      const refused = await expectOAuthError(await callback(back, s), 502, "connection_failed");
      spoil = null;
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
      spoil = spoiler;
      const result = await exports.VaultService.savedToken({
        orgId: s.orgId,
        subject: s.userId,
        agentClientId: agent.clientId,
        resource: "demo-echo",
        decisionId: crypto.randomUUID(),
        forceRefresh: true,
      });
      spoil = null;
      expect(result, name).toEqual({ ok: false, refusal: "saved_connection_expired", connectionId: connection.id });
      expect((await connectionRow(connection.id)).accessTokenSealed, name).toBe(before.accessTokenSealed);
      expect(
        (await upstreamRequests(provider.name)).map((r) => r.grant_type),
        name,
      ).toEqual(["authorization_code", "refresh_token"]);
    }
  });
});
