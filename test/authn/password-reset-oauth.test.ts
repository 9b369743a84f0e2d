// Every password reset, of a confirmed account too, ends the person's OAuth
// refresh tokens at our OpenID Provider and every session
// (workers/authn/src/security/unproven-account-reset.ts): a reset is what a
// person does after a compromise, and a client the thief signed in with the
// stolen password must not keep refreshing. An unconfirmed account's reset
// removes more (unproven-account-reset.test.ts).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { envWith, formTo, tokenFromMail } from "./email-helpers.ts";
import { exchange } from "./helpers.ts";
import { oidc, REDIRECT_URI } from "./oidc-helpers.ts";

const LOCAL = envWith({});

describe("a password reset of a confirmed account", { timeout: 60_000 }, () => {
  it("revokes its refresh tokens (invalid_grant) and ends its sessions", async () => {
    const { person, client, tokens } = await oidc.issuedTokens();
    await env.DB.prepare("UPDATE user SET email_verified = 1 WHERE id = ?").bind(person.userId).run();
    // The refresh token works before the reset.
    const before = await oidc.tokenRequest(
      { grant_type: "refresh_token", refresh_token: tokens.refresh_token ?? "", redirect_uri: REDIRECT_URI },
      client,
    );
    expect(before.status).toBe(200);
    const { refresh_token: rotated } = (await before.json()) as { refresh_token: string };

    expect((await formTo(LOCAL, "/forgot-password", { email: person.email })).status).toBe(200);
    const token = await tokenFromMail(person.email, "reset-password");
    expect((await formTo(LOCAL, "/reset-password", { token, password: "a fresh passphrase after theft" })).status).toBe(
      200,
    );

    const refreshed = await oidc.tokenRequest(
      { grant_type: "refresh_token", refresh_token: rotated, redirect_uri: REDIRECT_URI },
      client,
    );
    expect(refreshed.status).toBe(400);
    expect(((await refreshed.json()) as { error: string }).error).toBe("invalid_grant");
    expect(await (await exchange(person.cookie)).json()).toEqual({
      error: "invalid_grant",
      error_description: "no live session",
    });
    const sessions = await env.DB.prepare("SELECT count(*) AS n FROM session WHERE user_id = ?")
      .bind(person.userId)
      .first<{ n: number }>();
    expect(sessions?.n).toBe(0);
    const live = await env.DB.prepare(
      "SELECT count(*) AS n FROM oidc_refresh_token WHERE user_id = ? AND revoked IS NULL",
    )
      .bind(person.userId)
      .first<{ n: number }>();
    expect(live?.n).toBe(0);
  });
});
