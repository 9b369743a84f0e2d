// A member removal that lands between the provider's org check and the
// write of an opaque access token still cuts that token off. Better Auth
// fixes a grant's `iat` (the opaque row's `created_at`, which userinfo and
// introspection read as the token's `iat`) when it starts building the
// tokens, before it calls the org check (oidc/org-claim.ts through
// `customTokenResponseFields`); a removal records its second cut-off after
// its delete (revocation/membership-revocation.ts), and a cut-off refuses
// every token with `iat` at or before its second (`revoked_at >= iat`,
// workers/org-state/src/live-entries.ts): a token the check let through was
// issued before the delete, so at or before that cut-off, the same second
// included. Here the delete is made by the database itself as the token's
// row is written, after the check read the membership.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { revokeMemberTokens } from "../../workers/authn/src/revocation/membership-revocation.ts";
import { oidc, pkce, REDIRECT_URI, type TokenResponse } from "./oidc-helpers.ts";
import { userinfo } from "./userinfo-helpers.ts";

describe("an opaque token minted as its person is removed from the org", () => {
  it("is refused at userinfo once the removal's cut-off is recorded: 401 invalid_token, token revoked", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const { verifier, challenge } = await pkce();
    const back = await oidc.authorizeAndConsent(
      oidc.codeRequest(client.clientId, challenge, { resource: undefined }),
      person.cookie,
    );
    // The removal's delete, landing as the token's row is written: after the org check read the member.
    const quote = (value: string) => `'${value.replaceAll("'", "''")}'`;
    const trigger = `remove_at_mint_${crypto.randomUUID().replaceAll("-", "")}`;
    await env.DB.prepare(
      `CREATE TRIGGER ${trigger} BEFORE INSERT ON oidc_access_token WHEN NEW.user_id = ${quote(person.userId)}
       BEGIN DELETE FROM member WHERE user_id = ${quote(person.userId)} AND organization_id = ${quote(person.orgId)}; END`,
    ).run();
    let token: string;
    try {
      const response = await oidc.tokenRequest(
        {
          grant_type: "authorization_code",
          code: back.searchParams.get("code") ?? "",
          redirect_uri: REDIRECT_URI,
          code_verifier: verifier,
        },
        client,
      );
      expect(response.status).toBe(200);
      token = ((await response.json()) as TokenResponse).access_token;
    } finally {
      await env.DB.prepare(`DROP TRIGGER ${trigger}`).run();
    }
    expect(token.split(".")).toHaveLength(1);
    const member = await env.DB.prepare("SELECT count(*) AS n FROM member WHERE user_id = ? AND organization_id = ?")
      .bind(person.userId, person.orgId)
      .first<{ n: number }>();
    expect(member?.n).toBe(0);
    // The row's `created_at` is the grant's `iat`, a whole second, taken before the check.
    const row = await env.DB.prepare("SELECT created_at AS createdAt FROM oidc_access_token WHERE user_id = ?")
      .bind(person.userId)
      .first<{ createdAt: number }>();
    expect((row?.createdAt ?? 1) % 1000).toBe(0);

    // The removal's cut-off after its delete, as its after hook records it (settleMemberTokens).
    await revokeMemberTokens(env, person.orgId, person.userId, "member-removed");
    const refused = await userinfo(token);
    expect(refused.status).toBe(401);
    expect(refused.headers.get("WWW-Authenticate")).toContain(
      'error="invalid_token", error_description="ERR_TOKEN_REVOKED: token revoked"',
    );
  });
});
