import { env, exports } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import type { Client, TokenResponse } from "../support/runtime/browser-oidc.ts";
import { ISSUER, oidc } from "./oidc-fixture.ts";
import { active, authorized, oauthError, refresh, revokedInOrg, tokens } from "./oidc-grant-fixtures.ts";

// Every use of one browser grant's family — a refresh (RFC 6749 §6), a revocation of one of its refresh tokens
// (RFC 7009 §2.1), a reuse of a rotated one (RFC 9700 §4.14.2), a replay of its code (RFC 6749 §4.1.2) — takes
// the grant's turn (workers/token/src/oidc/grant-turns.ts), not the presented token's. Otherwise a teardown
// presented with one token and a refresh presented with its successor interleave, and the refresh writes a
// successor after its family was deleted: it outlives the grant's revocation entry and mints tokens afterwards.

/** Rounds per race: each is one fresh grant of one person to one client, its two requests fired at once. */
const ROUNDS = 8;

/** Many rounds of several requests each, run one after another; no assertion is about time. */
const RACE_TEST = { timeout: 180_000 };

type Person = Awaited<ReturnType<typeof oidc.signUp>>;

function revoke(token: string, client: Client) {
  return exports.default.fetch(
    new Request(`${ISSUER}${ENDPOINT.revocation}`, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        Authorization: `Basic ${btoa(`${client.clientId}:${client.clientSecret}`)}`,
      },
      body: new URLSearchParams({ token }),
    }),
  );
}

/** A fresh grant of `person` to `client`, its code redeemed (R1) and R1 rotated once (R2). */
async function rotatedGrant(person: Person, client: Client) {
  const fields = await authorized(person, client);
  const first = await tokens(await oidc.tokenRequest(fields, client));
  const second = await tokens(await refresh(first.refresh_token ?? "", client));
  return { fields, first, second };
}

/** The refresh raced with the teardown: its successor when it won the race, nothing when it lost (exactly invalid_grant). */
async function raced(response: Response): Promise<TokenResponse[]> {
  if (response.status === 200) return [(await response.json()) as TokenResponse];
  expect(await oauthError(response)).toEqual({ status: 400, error: "invalid_grant" });
  return [];
}

/**
 * The grant has ended: no refresh token of its family refreshes (the newest first, so a successor written
 * after the teardown is caught before any reuse could end it), no refresh token row of the grant is live, and
 * every access token it yielded is inactive at introspection and cut off at the org's object (the gateway's
 * check).
 */
async function familyEnded(client: Client, issued: TokenResponse[]): Promise<void> {
  for (const token of [...issued].reverse()) {
    expect(await oauthError(await refresh(token.refresh_token ?? "", client))).toEqual({
      status: 400,
      error: "invalid_grant",
    });
  }
  const codeId = String(decodeJwt(issued[0]?.access_token ?? "").grant_id).replace(/^oidc-grant:/, "");
  const live = await env.DB.prepare(
    "SELECT count(*) AS n FROM oidc_refresh_token WHERE authorization_code_id = ? AND revoked IS NULL",
  )
    .bind(codeId)
    .first<{ n: number }>();
  expect(live?.n).toBe(0);
  for (const token of issued) {
    expect(await active(token.access_token, client)).toBe(false);
    expect(await revokedInOrg(token.access_token)).toBe(true);
  }
}

type Grant = Awaited<ReturnType<typeof rotatedGrant>>;

/**
 * `ROUNDS` fresh grants of one person to one client, each raced by `race`, which returns the tokens its
 * winning refresh yielded; after each round the grant's whole family has ended.
 */
async function raceRounds(race: (grant: Grant, client: Client) => Promise<TokenResponse[]>): Promise<void> {
  const person = await oidc.signUp();
  const client = await oidc.browserClient();
  for (let round = 0; round < ROUNDS; round++) {
    const grant = await rotatedGrant(person, client);
    const won = await race(grant, client);
    await familyEnded(client, [grant.first, grant.second, ...won]);
  }
}

/** A teardown fired at once with a refresh of R2: `judge` checks the teardown's answer, the refresh may win or lose. */
function teardownRacesRefresh(
  teardown: (grant: Grant, client: Client) => Promise<Response>,
  judge: (response: Response) => Promise<void>,
) {
  return async (grant: Grant, client: Client): Promise<TokenResponse[]> => {
    const [tearing, refreshing] = await Promise.all([
      teardown(grant, client),
      refresh(grant.second.refresh_token ?? "", client),
    ]);
    await judge(tearing);
    return raced(refreshing);
  };
}

async function isInvalidGrant(response: Response): Promise<void> {
  expect(await oauthError(response)).toEqual({ status: 400, error: "invalid_grant" });
}

describe("one grant's family is used one request at a time: a teardown never races a refresh of the same grant", () => {
  it(
    "RFC 7009 revocation of the rotated R1 fired with a refresh of R2: the revocation is 200 and no refresh token of the family lives on",
    RACE_TEST,
    () =>
      raceRounds(
        teardownRacesRefresh(
          ({ first }, client) => revoke(first.refresh_token ?? "", client),
          async (revoking) => {
            expect(revoking.status).toBe(200);
          },
        ),
      ),
  );

  it(
    "a reuse of the rotated R1 (refresh grant) fired with a refresh of R2: the reuse is invalid_grant and no refresh token of the family lives on",
    RACE_TEST,
    () =>
      raceRounds(
        teardownRacesRefresh(({ first }, client) => refresh(first.refresh_token ?? "", client), isInvalidGrant),
      ),
  );

  it(
    "a replay of the code fired with a refresh of the grant's refresh token: the replay is invalid_grant and no refresh token of the grant lives on",
    RACE_TEST,
    () => raceRounds(teardownRacesRefresh(({ fields }, client) => oidc.tokenRequest(fields, client), isInvalidGrant)),
  );

  it(
    "two refreshes with one refresh token fired at once, each read before its turn: one 200, one invalid_grant, and the winner's tokens end with the family",
    RACE_TEST,
    () =>
      raceRounds(async ({ second }, client) => {
        const answers = await Promise.all([
          refresh(second.refresh_token ?? "", client),
          refresh(second.refresh_token ?? "", client),
        ]);
        expect(answers.map((response) => response.status).sort()).toEqual([200, 400]);
        const won: TokenResponse[] = [];
        for (const response of answers) won.push(...(await raced(response)));
        // The loser read the token's row before the winner rotated it, and Better Auth found it rotated
        // ("invalid refresh token"): a second use all the same (RFC 9700 §4.14.2), which ends the grant.
        return won;
      }),
  );
});
