// A password change that signs out other devices (revokeOtherSessions) also
// ends the person's OAuth refresh tokens at our OpenID Provider, as a reset
// does (workers/authn/src/security/change-password-oauth.ts); a change
// without it keeps them, as it keeps the other sessions.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, cookiesFrom, form, PASSWORD } from "./helpers.ts";
import { liveRefreshTokens, oidc, refreshGrant, refuseOAuthTokenRevocation } from "./oidc-helpers.ts";

describe("change-password and the person's OAuth tokens", { timeout: 60_000 }, () => {
  it("with revokeOtherSessions: a refresh afterwards is invalid_grant", async () => {
    const { person, client, tokens } = await oidc.issuedTokens();
    const before = await refreshGrant(tokens.refresh_token ?? "", client);
    expect(before.status).toBe(200);
    const { refresh_token: rotated } = (await before.json()) as { refresh_token: string };

    const changed = await api(
      "/change-password",
      { currentPassword: PASSWORD, newPassword: `${PASSWORD} after theft`, revokeOtherSessions: true },
      { Cookie: person.cookie },
    );
    expect(changed.status).toBe(200);

    const after = await refreshGrant(rotated, client);
    expect(after.status).toBe(400);
    expect(((await after.json()) as { error: string }).error).toBe("invalid_grant");
    expect(await liveRefreshTokens(person.userId)).toBe(0);
    const accessTokens = await env.DB.prepare("SELECT count(*) AS n FROM oidc_access_token WHERE user_id = ?")
      .bind(person.userId)
      .first<{ n: number }>();
    expect(accessTokens?.n).toBe(0);
  });

  // The guards and the fix in one flow, so this test too fails without the
  // fix (at its last step) and fails a fix that revokes on every change
  // (at the routine change).
  it("a refused change and one without revokeOtherSessions keep the refresh token; a ticked one ends it", async () => {
    const { person, client, tokens } = await oidc.issuedTokens();
    const refused = await api(
      "/change-password",
      { currentPassword: `${PASSWORD} wrong`, newPassword: `${PASSWORD} never set`, revokeOtherSessions: true },
      { Cookie: person.cookie },
    );
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { code: string }).code).toBe("INVALID_PASSWORD");
    const afterRefused = await refreshGrant(tokens.refresh_token ?? "", client);
    expect(afterRefused.status).toBe(200);
    const { refresh_token: second } = (await afterRefused.json()) as { refresh_token: string };

    const routine = await api(
      "/change-password",
      { currentPassword: PASSWORD, newPassword: `${PASSWORD} routine rotation` },
      { Cookie: person.cookie },
    );
    expect(routine.status).toBe(200);
    const afterRoutine = await refreshGrant(second, client);
    expect(afterRoutine.status).toBe(200);
    const { refresh_token: third } = (await afterRoutine.json()) as { refresh_token: string };

    const ticked = await api(
      "/change-password",
      {
        currentPassword: `${PASSWORD} routine rotation`,
        newPassword: `${PASSWORD} after theft`,
        revokeOtherSessions: true,
      },
      { Cookie: person.cookie },
    );
    expect(ticked.status).toBe(200);
    const afterTicked = await refreshGrant(third, client);
    expect(afterTicked.status).toBe(400);
    expect(((await afterTicked.json()) as { error: string }).error).toBe("invalid_grant");
  });

  it("a revocation that cannot be recorded is 503 REVOCATION_NOT_RECORDED, not a success; sign out other devices then ends the tokens", async () => {
    const { person, client, tokens } = await oidc.issuedTokens();
    const lift = await refuseOAuthTokenRevocation(person.userId);
    try {
      const changed = await api(
        "/change-password",
        { currentPassword: PASSWORD, newPassword: `${PASSWORD} after theft`, revokeOtherSessions: true },
        { Cookie: person.cookie },
      );
      expect(changed.status).toBe(503);
      expect(((await changed.json()) as { code: string }).code).toBe("REVOCATION_NOT_RECORDED");
    } finally {
      await lift();
    }
    // The batch rolled back whole: the refresh token still works until the person finishes the job.
    expect(await liveRefreshTokens(person.userId)).toBe(1);
    // The change itself went through (it ended the other sessions, this one too, with a new cookie
    // the failed answer may not carry): the person signs in with the new password and finishes the job.
    const signedIn = await form("/sign-in", { email: person.email, password: `${PASSWORD} after theft` });
    expect(signedIn.status).toBe(303);
    expect((await api("/revoke-other-sessions", {}, { Cookie: cookiesFrom(signedIn) })).status).toBe(200);
    const after = await refreshGrant(tokens.refresh_token ?? "", client);
    expect(after.status).toBe(400);
    expect(((await after.json()) as { error: string }).error).toBe("invalid_grant");
  });
});
