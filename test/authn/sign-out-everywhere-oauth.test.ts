// "Sign out everywhere" (revoke-sessions) and "sign out other devices"
// (revoke-other-sessions) also end the person's OAuth refresh and opaque
// access tokens at our OpenID Provider, as a password reset does
// (workers/authn/src/revocation/sign-out-everywhere-oauth.ts); ending one
// named session (revoke-session) keeps them.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, cookiesFrom, form, PASSWORD } from "./helpers.ts";
import { liveRefreshTokens, oidc, refreshGrant, refuseOAuthTokenRevocation } from "./oidc-helpers.ts";
import { opaqueAccessToken, userinfo } from "./userinfo-helpers.ts";

async function errorOf(response: Response): Promise<string> {
  return ((await response.json()) as { error: string }).error;
}

/** A second session of the same person, signed in from another device. */
async function signInElsewhere(email: string): Promise<string> {
  const response = await form("/sign-in", { email, password: PASSWORD });
  expect(response.status).toBe(303);
  return cookiesFrom(response);
}

async function sessionIds(userId: string): Promise<string[]> {
  const { results } = await env.DB.prepare("SELECT id FROM session WHERE user_id = ?")
    .bind(userId)
    .all<{ id: string }>();
  return results.map((row) => row.id);
}

describe("signing out everywhere ends the person's OAuth tokens", { timeout: 60_000 }, () => {
  it("revoke-sessions: a refresh afterwards is invalid_grant, the opaque access token is refused", async () => {
    const { person, client, tokens } = await oidc.issuedTokens();
    const opaque = await opaqueAccessToken(person, { client });
    expect((await userinfo(opaque)).status).toBe(200);
    const before = await refreshGrant(tokens.refresh_token ?? "", client);
    expect(before.status).toBe(200);
    const { refresh_token: rotated } = (await before.json()) as { refresh_token: string };

    const everywhere = await api("/revoke-sessions", {}, { Cookie: person.cookie });
    expect(everywhere.status).toBe(200);
    expect(await sessionIds(person.userId)).toEqual([]);

    const refused = await userinfo(opaque);
    expect(refused.status).toBe(401);
    expect(await errorOf(refused)).toBe("invalid_token");
    const after = await refreshGrant(rotated, client);
    expect(after.status).toBe(400);
    expect(await errorOf(after)).toBe("invalid_grant");
    expect(await liveRefreshTokens(person.userId)).toBe(0);
  });

  it("revoke-other-sessions: invalid_grant too, and the caller's own session stays", async () => {
    const { person, client, tokens } = await oidc.issuedTokens();
    const opaque = await opaqueAccessToken(person, { client });
    await signInElsewhere(person.email);
    expect((await sessionIds(person.userId)).length).toBe(2);

    const others = await api("/revoke-other-sessions", {}, { Cookie: person.cookie });
    expect(others.status).toBe(200);
    expect(await sessionIds(person.userId)).toEqual([person.sessionId]);

    const refused = await userinfo(opaque);
    expect(refused.status).toBe(401);
    expect(await errorOf(refused)).toBe("invalid_token");
    const after = await refreshGrant(tokens.refresh_token ?? "", client);
    expect(after.status).toBe(400);
    expect(await errorOf(after)).toBe("invalid_grant");
    expect(await liveRefreshTokens(person.userId)).toBe(0);
  });

  // The guard and the fix in one flow, so this test too fails without the
  // fix (at its last step) and fails a fix that revokes on every session end
  // (at the named one).
  it("revoke-session (one named session) keeps the refresh token; revoke-other-sessions then ends it", async () => {
    const { person, client, tokens } = await oidc.issuedTokens();
    await signInElsewhere(person.email);
    const other = (await sessionIds(person.userId)).find((id) => id !== person.sessionId) ?? "";
    const token = await env.DB.prepare("SELECT token FROM session WHERE id = ?").bind(other).first<{ token: string }>();
    const one = await api("/revoke-session", { token: token?.token }, { Cookie: person.cookie });
    expect(one.status).toBe(200);
    expect(await sessionIds(person.userId)).toEqual([person.sessionId]);

    const afterOne = await refreshGrant(tokens.refresh_token ?? "", client);
    expect(afterOne.status).toBe(200);
    const { refresh_token: rotated } = (await afterOne.json()) as { refresh_token: string };

    expect((await api("/revoke-other-sessions", {}, { Cookie: person.cookie })).status).toBe(200);
    const afterOthers = await refreshGrant(rotated, client);
    expect(afterOthers.status).toBe(400);
    expect(await errorOf(afterOthers)).toBe("invalid_grant");
  });
});

describe("a sign-out everywhere whose OAuth revocation cannot be recorded does not report success", {
  timeout: 60_000,
}, () => {
  it("revoke-other-sessions: 503 REVOCATION_NOT_RECORDED, the refresh token still works, a retry ends it", async () => {
    const { person, client, tokens } = await oidc.issuedTokens();
    await opaqueAccessToken(person, { client });
    const lift = await refuseOAuthTokenRevocation(person.userId);
    try {
      const failed = await api("/revoke-other-sessions", {}, { Cookie: person.cookie });
      expect(failed.status).toBe(503);
      expect(((await failed.json()) as { code: string }).code).toBe("REVOCATION_NOT_RECORDED");
    } finally {
      await lift();
    }
    // Nothing was half-revoked: the batch rolled back as a whole.
    const stillLive = await refreshGrant(tokens.refresh_token ?? "", client);
    expect(stillLive.status).toBe(200);
    const { refresh_token: rotated } = (await stillLive.json()) as { refresh_token: string };

    const retried = await api("/revoke-other-sessions", {}, { Cookie: person.cookie });
    expect(retried.status).toBe(200);
    const after = await refreshGrant(rotated, client);
    expect(after.status).toBe(400);
    expect(await errorOf(after)).toBe("invalid_grant");
  });

  it("revoke-sessions: 503 REVOCATION_NOT_RECORDED; signed in again, a retry ends the tokens", async () => {
    const { person, client, tokens } = await oidc.issuedTokens();
    await opaqueAccessToken(person, { client });
    const lift = await refuseOAuthTokenRevocation(person.userId);
    try {
      const failed = await api("/revoke-sessions", {}, { Cookie: person.cookie });
      expect(failed.status).toBe(503);
      expect(((await failed.json()) as { code: string }).code).toBe("REVOCATION_NOT_RECORDED");
    } finally {
      await lift();
    }
    // Both grants' refresh tokens (the second grant's too) are still live.
    expect(await liveRefreshTokens(person.userId)).toBe(2);

    // The sessions are gone by then; the person signs in and repeats it.
    const again = await signInElsewhere(person.email);
    expect((await api("/revoke-sessions", {}, { Cookie: again })).status).toBe(200);
    const after = await refreshGrant(tokens.refresh_token ?? "", client);
    expect(after.status).toBe(400);
    expect(await errorOf(after)).toBe("invalid_grant");
  });
});
