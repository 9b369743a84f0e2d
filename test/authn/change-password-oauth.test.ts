// A password change that signs out other devices (revokeOtherSessions) also
// ends the person's OAuth refresh tokens at our OpenID Provider, as a reset
// does (workers/authn/src/security/change-password-oauth.ts); a change
// without it keeps them, as it keeps the other sessions.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, PASSWORD } from "./helpers.ts";
import { oidc, REDIRECT_URI } from "./oidc-helpers.ts";

type Client = Awaited<ReturnType<typeof oidc.issuedTokens>>["client"];

function refresh(refreshToken: string, client: Client) {
  return oidc.tokenRequest(
    { grant_type: "refresh_token", refresh_token: refreshToken, redirect_uri: REDIRECT_URI },
    client,
  );
}

async function liveRefreshTokens(userId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM oidc_refresh_token WHERE user_id = ? AND revoked IS NULL")
    .bind(userId)
    .first<{ n: number }>();
  return row?.n ?? -1;
}

describe("change-password and the person's OAuth tokens", { timeout: 60_000 }, () => {
  it("with revokeOtherSessions: a refresh afterwards is invalid_grant", async () => {
    const { person, client, tokens } = await oidc.issuedTokens();
    const before = await refresh(tokens.refresh_token ?? "", client);
    expect(before.status).toBe(200);
    const { refresh_token: rotated } = (await before.json()) as { refresh_token: string };

    const changed = await api(
      "/change-password",
      { currentPassword: PASSWORD, newPassword: `${PASSWORD} after theft`, revokeOtherSessions: true },
      { Cookie: person.cookie },
    );
    expect(changed.status).toBe(200);

    const after = await refresh(rotated, client);
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
    const afterRefused = await refresh(tokens.refresh_token ?? "", client);
    expect(afterRefused.status).toBe(200);
    const { refresh_token: second } = (await afterRefused.json()) as { refresh_token: string };

    const routine = await api(
      "/change-password",
      { currentPassword: PASSWORD, newPassword: `${PASSWORD} routine rotation` },
      { Cookie: person.cookie },
    );
    expect(routine.status).toBe(200);
    const afterRoutine = await refresh(second, client);
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
    const afterTicked = await refresh(third, client);
    expect(afterTicked.status).toBe(400);
    expect(((await afterTicked.json()) as { error: string }).error).toBe("invalid_grant");
  });
});
