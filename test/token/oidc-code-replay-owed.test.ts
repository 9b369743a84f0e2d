// RFC 6749 §4.1.2: a replayed code's grant is cut off, and a cut-off that cannot be recorded at once is
// owed (D1 `owed_grant_cutoff`), never dropped (docs/revocation.md). A code redeemed without a refresh
// token names its grant only by its `redeemed_code_grant` row, which its first replay spends; spent before
// the cut-off was owed, a replay that could neither owe nor record it lost it, with nothing left for the
// next replay or the cron to read. The authn Worker now owes the cut-off in the same D1 batch that spends
// the row (shared/oidc/redeemed-code-grant.ts): both or neither.
//
// Failures are real: the org's object records no value longer than 256 characters (a person that long is
// refused), and a trigger makes D1 refuse the grant's owed row.
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { storedTokenForm } from "../../shared/oidc/stored-token.ts";
import { authorized, oauthError, revokedInOrg, tokens } from "./oidc-grant-fixtures.ts";
import { oidc } from "./oidc-fixture.ts";

const WITHOUT_OFFLINE_ACCESS = "openid profile email documents:read";

function redeemedRow(grantId: string) {
  return env.DB.prepare("SELECT user_id FROM redeemed_code_grant WHERE grant_id = ?1")
    .bind(grantId)
    .first<{ user_id: string }>();
}

async function owedRows(grantId: string) {
  const rows = await env.DB.prepare(
    "SELECT client_id, user_id, presented, reason FROM owed_grant_cutoff WHERE grant_id = ?1",
  )
    .bind(grantId)
    .all();
  return rows.results;
}

/** The person the redemption row names, as one the org's object refuses to attribute an entry to. */
async function unrecordablePerson(grantId: string): Promise<string> {
  const userId = `${crypto.randomUUID()}${"x".repeat(300)}`;
  await env.DB.prepare("UPDATE redeemed_code_grant SET user_id = ?1 WHERE grant_id = ?2").bind(userId, grantId).run();
  return userId;
}

async function redeemedWithoutRefreshToken() {
  const person = await oidc.signUp();
  const client = await oidc.browserClient();
  const fields = await authorized(person, client, { scope: WITHOUT_OFFLINE_ACCESS });
  const issued = await tokens(await oidc.tokenRequest(fields, client));
  expect(issued.refresh_token).toBeUndefined();
  return { person, client, fields, issued, grantId: String(decodeJwt(issued.access_token).grant_id) };
}

describe("a replayed code redeemed without a refresh token: its cut-off owed as its row is spent", () => {
  it("neither owed nor recorded: the redemption's row stays, and the next replay records the cut-off", async () => {
    const { person, client, fields, issued, grantId } = await redeemedWithoutRefreshToken();
    const refused = await unrecordablePerson(grantId);
    const trigger = `refuse_owed_${crypto.randomUUID().replaceAll("-", "")}`;
    await env.DB.prepare(
      `CREATE TRIGGER ${trigger} BEFORE INSERT ON owed_grant_cutoff WHEN NEW.grant_id = '${grantId}'
       BEGIN SELECT RAISE(ABORT, 'owed row refused by the test'); END`,
    ).run();
    try {
      expect(await oauthError(await oidc.tokenRequest(fields, client))).toEqual({
        status: 400,
        error: "invalid_grant",
      });
    } finally {
      await env.DB.prepare(`DROP TRIGGER ${trigger}`).run();
    }
    expect(await revokedInOrg(issued.access_token)).toBe(false);
    expect(await owedRows(grantId)).toEqual([]);
    expect(await redeemedRow(grantId)).toEqual({ user_id: refused });

    // D1 and the object take it again: the next replay reads the row and records the cut-off.
    await env.DB.prepare("UPDATE redeemed_code_grant SET user_id = ?1 WHERE grant_id = ?2")
      .bind(person.userId, grantId)
      .run();
    expect(await oauthError(await oidc.tokenRequest(fields, client))).toEqual({ status: 400, error: "invalid_grant" });
    expect(await revokedInOrg(issued.access_token)).toBe(true);
    expect(await redeemedRow(grantId)).toBeNull();
    expect(await owedRows(grantId)).toEqual([]);
  });

  it("owed but not recorded: the row is spent and the cut-off left owed, as the token Worker would owe it", async () => {
    const { client, fields, issued, grantId } = await redeemedWithoutRefreshToken();
    const refused = await unrecordablePerson(grantId);
    expect(await oauthError(await oidc.tokenRequest(fields, client))).toEqual({ status: 400, error: "invalid_grant" });
    expect(await revokedInOrg(issued.access_token)).toBe(false);
    expect(await redeemedRow(grantId)).toBeNull();
    expect(await owedRows(grantId)).toEqual([
      {
        client_id: client.clientId,
        user_id: refused,
        presented: await storedTokenForm(fields.code ?? ""),
        reason: `authorization code replay by ${client.clientId}`,
      },
    ]);
  });
});
