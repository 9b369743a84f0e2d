import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { redeemedCode } from "../../shared/oidc/redeemed-code-grant.ts";
import { storedTokenForm } from "../../shared/oidc/stored-token.ts";
import { planOfStatement, recordingDb, type SentStatement } from "../support/runtime/query-plans.ts";
import type { Client } from "../support/runtime/browser-oidc.ts";
import { authorized, tokens } from "./oidc-grant-fixtures.ts";
import { ISSUER, oidc } from "./oidc-fixture.ts";

// A code redeemed with neither `offline_access` nor `resource` leaves Better Auth one row: the opaque access
// token it stored on the code (`oidc_access_token.authorization_code_id` = the code's stored form). Handed a
// replay of that code, Better Auth deletes the token before it authenticates anyone (RFC 6749 §4.1.2), so the
// authn Worker must know the spent code's client from that row too and refuse everyone else's replay first
// (§4.1.3; workers/authn/src/oidc/code-client-authentication.ts, shared/oidc/redeemed-code-grant.ts). It read
// only refresh token rows and `redeemed_code_grant`, and any client, or none, ended the victim's token.

const INVALID_CODE = { status: 400, body: { error: "invalid_grant", error_description: "invalid code" } };

/** A token request with exactly these headers (no credentials added). */
function tokenRequest(fields: Record<string, string>, headers: Record<string, string> = {}) {
  return exports.default.fetch(
    new Request(`${ISSUER}${ENDPOINT.token}`, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        "cf-connecting-ip": `198.51.100.${Math.floor(Math.random() * 250) + 1}`,
        ...headers,
      },
      body: new URLSearchParams(fields),
    }),
  );
}

async function answer(response: Response) {
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** The opaque access tokens Better Auth stored on the code. */
async function opaqueTokens(code: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM oidc_access_token WHERE authorization_code_id = ?1")
    .bind(await storedTokenForm(code))
    .first<{ n: number }>();
  return row?.n ?? -1;
}

/** The opaque access token answers at userinfo (the relying party's use of it). */
async function userinfoStatus(accessToken: string): Promise<number> {
  const response = await (env as unknown as { AUTHN_PAGES: Fetcher }).AUTHN_PAGES.fetch(
    new Request(`${new URL(ISSUER).origin}/api/auth/oauth2/userinfo`, {
      headers: { Authorization: `Bearer ${accessToken}` },
    }),
  );
  await response.body?.cancel();
  return response.status;
}

/** A code of `client` redeemed for an opaque access token alone: no refresh token, no JWT, one row. */
async function redeemedOpaque(client?: Client) {
  const person = await oidc.signUp();
  const owner = client ?? (await oidc.browserClient());
  const fields = await authorized(person, owner, { resource: null, scope: "openid profile" });
  const issued = await tokens(await oidc.tokenRequest(fields, owner));
  expect(issued.refresh_token).toBeUndefined();
  expect(issued.access_token.split(".")).toHaveLength(1);
  expect(await opaqueTokens(fields.code ?? "")).toBe(1);
  return { person, client: owner, fields, issued };
}

/** The opaque access token lives on: its row is there and userinfo takes it. */
async function expectTokenAlive(code: string, accessToken: string) {
  expect(await opaqueTokens(code)).toBe(1);
  expect(await userinfoStatus(accessToken)).toBe(200);
}

describe("RFC 6749 §4.1.3: a spent code that left only an opaque access token is its own client's to replay", () => {
  it("another confidential client, authenticated, is 400 invalid_grant and the token lives", async () => {
    const { fields, issued } = await redeemedOpaque();
    const other = await oidc.browserClient();
    expect(await answer(await oidc.tokenRequest(fields, other))).toEqual(INVALID_CODE);
    await expectTokenAlive(fields.code ?? "", issued.access_token);
  });

  it("an unknown client_id with no credentials is 401 invalid_client, no client at all 400 invalid_request; the token lives", async () => {
    const { fields, issued } = await redeemedOpaque();
    const unknown = await tokenRequest({ ...fields, client_id: "nobody-at-all" });
    expect(unknown.headers.get("WWW-Authenticate")).toBe('Basic realm="mono-auth"');
    expect(await answer(unknown)).toEqual({
      status: 401,
      body: { error: "invalid_client", error_description: "missing client" },
    });
    // The answer a live code gets (live-code-checks.ts), so it tells nothing of the code's state.
    expect(await answer(await tokenRequest(fields))).toEqual({
      status: 400,
      body: { error: "invalid_request", error_description: "client_id is required" },
    });
    await expectTokenAlive(fields.code ?? "", issued.access_token);
  });

  it("the code's confidential client named with no secret is 401 invalid_client and the token lives", async () => {
    const { client, fields, issued } = await redeemedOpaque();
    const response = await tokenRequest({ ...fields, client_id: client.clientId });
    expect(await answer(response)).toEqual({
      status: 401,
      body: { error: "invalid_client", error_description: "client secret must be provided" },
    });
    await expectTokenAlive(fields.code ?? "", issued.access_token);
  });

  it("a public client's spent code named with another public client's client_id is 400 invalid_grant", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient({ type: "public" });
    const fields: Record<string, string> = {
      ...(await authorized(person, client, { resource: null, scope: "openid profile" })),
      client_id: client.clientId,
    };
    const code = fields.code ?? "";
    const issued = await tokens(await oidc.tokenRequest(fields));
    expect(await opaqueTokens(code)).toBe(1);
    const other = await oidc.browserClient({ type: "public" });
    expect(await answer(await oidc.tokenRequest({ ...fields, client_id: other.clientId }))).toEqual(INVALID_CODE);
    await expectTokenAlive(code, issued.access_token);
    // §4.1.2: its own client_id's replay is the code used twice, and ends what it yielded.
    expect(await answer(await oidc.tokenRequest(fields))).toEqual(INVALID_CODE);
    expect(await opaqueTokens(code)).toBe(0);
  });

  it("a grant with no org (the row's reference_id null) is known by its client all the same", async () => {
    const { fields, issued } = await redeemedOpaque();
    // As Better Auth stores the token of a person with no active org at consent.
    await env.DB.prepare("UPDATE oidc_access_token SET reference_id = NULL WHERE authorization_code_id = ?1")
      .bind(await storedTokenForm(fields.code ?? ""))
      .run();
    const other = await oidc.browserClient();
    expect(await answer(await oidc.tokenRequest(fields, other))).toEqual(INVALID_CODE);
    expect(await opaqueTokens(fields.code ?? "")).toBe(1);
    expect(issued.access_token).toBeTruthy();
  });

  it("the code's own client's replay is 400 invalid_grant and ends the token (§4.1.2)", async () => {
    const { client, fields, issued } = await redeemedOpaque();
    expect(await answer(await oidc.tokenRequest(fields, client))).toEqual(INVALID_CODE);
    expect(await opaqueTokens(fields.code ?? "")).toBe(0);
    expect(await userinfoStatus(issued.access_token)).toBe(401);
  });

  it("the redemption and 4 other clients' requests fired at once: the redemption 200, every other 400, the token lives", async () => {
    for (let round = 0; round < 2; round++) {
      const person = await oidc.signUp();
      const client = await oidc.browserClient();
      const strangers = await Promise.all(Array.from({ length: 4 }, () => oidc.browserClient()));
      const fields = await authorized(person, client, { resource: null, scope: "openid profile" });
      const [legit, ...foreign] = await Promise.all([
        oidc.tokenRequest(fields, client),
        ...strangers.map((stranger) => oidc.tokenRequest(fields, stranger)),
      ]);
      const issued = await tokens(legit as Response);
      for (const response of foreign) expect(await answer(response)).toEqual(INVALID_CODE);
      await expectTokenAlive(fields.code ?? "", issued.access_token);
    }
  });
});

describe("the spent code's read is one statement, each of its rows sought by an index", () => {
  it("refresh token and opaque access token rows by authorization_code_id, redeemed_code_grant by its key", async () => {
    const sent: SentStatement[] = [];
    await redeemedCode(recordingDb(sent), await storedTokenForm("any-code"));
    expect(sent).toHaveLength(1);
    const plan = await planOfStatement(sent[0] as SentStatement);
    expect(plan, plan).toMatch(/SEARCH oidc_refresh_token USING INDEX oidcRefreshToken_authorizationCodeId_idx/);
    expect(plan, plan).toMatch(/SEARCH redeemed_code_grant USING INDEX sqlite_autoindex_redeemed_code_grant_1/);
    expect(plan, plan).toMatch(/SEARCH oidc_access_token USING INDEX oidcAccessToken_authorizationCodeId_idx/);
    expect(plan, plan).not.toMatch(/SCAN (oidc_refresh_token|redeemed_code_grant|oidc_access_token)/);
  });
});
