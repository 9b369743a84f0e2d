// A browser grant's `grant` cut-off is owed (D1 `owed_grant_cutoff`) from
// before Better Auth revokes the refresh token or deletes its family, so a
// cut-off the org's object cannot take is recorded later, never dropped:
// by the revocation's retry with the same token, first, or by the cron
// (workers/token/src/oidc/owed-grant-cutoffs.ts). Before, a revocation that
// answered 503 twice lost it: the second attempt's reuse rule deleted the
// rows the grant is read from, and the third, with the object back, was
// Better Auth's "not found", answered 200 with the grant's access tokens live.
//
// The org's object is made to refuse as in oidc-grant-revocation.test.ts:
// it records no value longer than 256 characters, and a grant id (the rows'
// `authorization_code_id`) or a person (`user_id`) that long is refused.
// "The object is back" is the owed row given the grant's real value again.
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { BROWSER_GRANT_ID_PREFIX } from "../../shared/contracts/oidc.ts";
import { storedTokenForm } from "../../shared/oidc/stored-token.ts";
import type { Client, TokenResponse } from "../support/runtime/browser-oidc.ts";
import { runCron } from "./cron-fixture.ts";
import { oidc, revocation } from "./oidc-fixture.ts";
import { active, authorized, grant, oauthError, refresh, revokedInOrg, tokens } from "./oidc-grant-fixtures.ts";

/** Longer than the org's object records; unique, as a grant's id is (the owed row's key). */
function unrecordable(): string {
  return `${crypto.randomUUID()}${"x".repeat(300)}`;
}

interface OwedRow {
  grant_id: string;
  org_id: string;
  client_id: string;
  user_id: string;
  presented: string;
  reason: string;
  created_at: number;
}

async function owedRows(clientId: string): Promise<OwedRow[]> {
  const rows = await env.DB.prepare("SELECT * FROM owed_grant_cutoff WHERE client_id = ? ORDER BY created_at")
    .bind(clientId)
    .all<OwedRow>();
  return rows.results;
}

function grantOf(accessToken: string): string {
  return String(decodeJwt(accessToken).grant_id);
}

/** A refresh token's row gets a grant id the org's object refuses; returns that id. */
async function unrecordableGrant(refreshToken: string): Promise<string> {
  const codeId = unrecordable();
  await env.DB.prepare("UPDATE oidc_refresh_token SET authorization_code_id = ? WHERE token = ?")
    .bind(codeId, await storedTokenForm(refreshToken))
    .run();
  return `${BROWSER_GRANT_ID_PREFIX}${codeId}`;
}

/** The org's object takes the client's grant again: the owed row and any refresh token row left name the grant's own id. */
async function objectBack(clientId: string, grantId: string): Promise<void> {
  await env.DB.batch([
    env.DB.prepare("UPDATE owed_grant_cutoff SET grant_id = ? WHERE client_id = ?").bind(grantId, clientId),
    env.DB.prepare("UPDATE oidc_refresh_token SET authorization_code_id = ? WHERE client_id = ?").bind(
      grantId.slice(BROWSER_GRANT_ID_PREFIX.length),
      clientId,
    ),
  ]);
}

/** Rows older than a revocation in flight, which the cron leaves to that request. */
async function ageOwedRows(clientId: string): Promise<void> {
  await env.DB.prepare("UPDATE owed_grant_cutoff SET created_at = created_at - 120000 WHERE client_id = ?")
    .bind(clientId)
    .run();
}

async function revoked503(refreshToken: string, client: Client): Promise<void> {
  const refused = await revocation({ token: refreshToken }, client);
  expect(await oauthError(refused)).toEqual({ status: 503, error: "temporarily_unavailable" });
  expect(refused.headers.get("Retry-After")).toBe("1");
}

/** A new person's grant to a new browser client, its id one the org's object refuses, revoked once: 503, owed. */
async function owedRevocation() {
  const person = await oidc.signUp();
  const client = await oidc.browserClient();
  const first = await grant(person, client);
  const refreshToken = first.refresh_token ?? "";
  const unrecordableId = await unrecordableGrant(refreshToken);
  await revoked503(refreshToken, client);
  return { person, client, first, refreshToken, unrecordableId };
}

/** The object back, the revocation retried with the same token: 200, the grant cut off, no owed row left. */
async function retriedWithObjectBack(client: Client, first: TokenResponse, refreshToken: string): Promise<void> {
  await objectBack(client.clientId, grantOf(first.access_token));
  expect((await revocation({ token: refreshToken }, client)).status).toBe(200);
  expect(await revokedInOrg(first.access_token)).toBe(true);
  expect(await owedRows(client.clientId)).toEqual([]);
}

describe("RFC 7009 §2.1: a browser grant's cut-off that cannot be recorded is owed, never dropped", () => {
  it("503, a retry still 503 (the owed cut-off first, the row kept), then a retry with the object back: recorded before the 200", async () => {
    const { person, client, first, refreshToken, unrecordableId } = await owedRevocation();
    const owed = await owedRows(client.clientId);
    expect(owed).toMatchObject([
      {
        grant_id: unrecordableId,
        org_id: person.orgId,
        user_id: person.userId,
        presented: await storedTokenForm(refreshToken),
        reason: `rfc7009 refresh token by ${client.clientId}`,
      },
    ]);
    // The retry still cannot record it: 503 before Better Auth is asked, and the row stays.
    await revoked503(refreshToken, client);
    expect(await owedRows(client.clientId)).toEqual(owed);
    expect(await revokedInOrg(first.access_token)).toBe(false);

    await retriedWithObjectBack(client, first, refreshToken);
    expect(await active(first.access_token, client)).toBe(false);
  });

  it("the family deleted while the cut-off is owed (the revoked token used again): the retry finds it by the token and records it before its 200", async () => {
    const { client, first, refreshToken } = await owedRevocation();
    // Better Auth's reuse rule deletes the family; its own cut-off cannot be recorded either.
    expect(await oauthError(await refresh(refreshToken, client))).toEqual({ status: 400, error: "invalid_grant" });
    const left = await env.DB.prepare("SELECT COUNT(*) AS n FROM oidc_refresh_token WHERE client_id = ?")
      .bind(client.clientId)
      .first<{ n: number }>();
    expect(left?.n).toBe(0);
    expect(await owedRows(client.clientId)).toHaveLength(1);

    await retriedWithObjectBack(client, first, refreshToken);
  });

  it("one 503 and no retry: the cron records it and clears the row; a row it is refused stays, sent to the back", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const first = await grant(person, client);
    const second = await grant(person, client);
    const unrecordableId = await unrecordableGrant(first.refresh_token ?? "");
    await revoked503(first.refresh_token ?? "", client);
    await ageOwedRows(client.clientId);

    // Still refused: the row stays, and its place in the queue is now.
    const [before] = await owedRows(client.clientId);
    await runCron();
    const [after] = await owedRows(client.clientId);
    expect(after?.grant_id).toBe(unrecordableId);
    expect(after?.created_at).toBeGreaterThan(before?.created_at ?? Number.POSITIVE_INFINITY);
    expect(await revokedInOrg(first.access_token)).toBe(false);

    await objectBack(client.clientId, grantOf(first.access_token));
    await ageOwedRows(client.clientId);
    await runCron();
    expect(await revokedInOrg(first.access_token)).toBe(true);
    expect(await owedRows(client.clientId)).toEqual([]);
    // The person's other grant to the client lives on.
    expect(await revokedInOrg(second.access_token)).toBe(false);
    expect(await active(second.access_token, client)).toBe(true);
  });

  it("the cron leaves a row younger than a revocation in flight to that request", async () => {
    const { client, first } = await owedRevocation();
    await objectBack(client.clientId, grantOf(first.access_token));
    await runCron();
    expect(await owedRows(client.clientId)).toHaveLength(1);
    expect(await revokedInOrg(first.access_token)).toBe(false);
  });

  it("two retries at once with the object back: both 200, the grant cut off, no row left", async () => {
    const { client, first, refreshToken } = await owedRevocation();
    await objectBack(client.clientId, grantOf(first.access_token));

    const answers = await Promise.all([
      revocation({ token: refreshToken }, client),
      revocation({ token: refreshToken }, client),
    ]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    expect(await revokedInOrg(first.access_token)).toBe(true);
    expect(await owedRows(client.clientId)).toEqual([]);
  });

  it("a normal revocation leaves no owed row; a refused client (401 invalid_client) owes nothing and revokes nothing", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const first = await grant(person, client);
    const second = await grant(person, client);

    expect(
      await oauthError(await revocation({ token: first.refresh_token ?? "" }, { ...client, clientSecret: "x" })),
    ).toEqual({ status: 401, error: "invalid_client" });
    expect(await owedRows(client.clientId)).toEqual([]);
    expect(await revokedInOrg(first.access_token)).toBe(false);

    expect((await revocation({ token: second.refresh_token ?? "" }, client)).status).toBe(200);
    expect(await revokedInOrg(second.access_token)).toBe(true);
    expect(await owedRows(client.clientId)).toEqual([]);
    expect(await revokedInOrg(first.access_token)).toBe(false);
  });
});

describe("RFC 9700 §4.14.2 and RFC 6749 §4.1.2: a reuse's or a code replay's cut-off that cannot be recorded is owed", () => {
  it("a rotated refresh token used again: 400 invalid_grant, the cut-off owed; the cron records it", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const first = await grant(person, client);
    const successor = await tokens(await refresh(first.refresh_token ?? "", client));
    const unrecordableId = await unrecordableGrant(first.refresh_token ?? "");

    expect(await oauthError(await refresh(first.refresh_token ?? "", client))).toEqual({
      status: 400,
      error: "invalid_grant",
    });
    expect(await owedRows(client.clientId)).toMatchObject([
      {
        grant_id: unrecordableId,
        presented: await storedTokenForm(first.refresh_token ?? ""),
        reason: `refresh token reuse by ${client.clientId}`,
      },
    ]);
    expect(await revokedInOrg(successor.access_token)).toBe(false);

    await objectBack(client.clientId, grantOf(first.access_token));
    await ageOwedRows(client.clientId);
    await runCron();
    for (const token of [first.access_token, successor.access_token]) {
      expect(await revokedInOrg(token)).toBe(true);
      expect(await active(token, client)).toBe(false);
    }
    expect(await owedRows(client.clientId)).toEqual([]);
  });

  it("a code redeemed again: 400 invalid_grant, the cut-off owed; the cron records it", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const fields = await authorized(person, client);
    const first = await tokens(await oidc.tokenRequest(fields, client));
    // A person the org's object refuses to attribute the entry to.
    const unrecordableUser = unrecordable();
    await env.DB.prepare("INSERT INTO user (id, name, email) VALUES (?, 'Unrecordable', ?)")
      .bind(unrecordableUser, `${crypto.randomUUID()}@example.test`)
      .run();
    await env.DB.prepare("UPDATE oidc_refresh_token SET user_id = ? WHERE client_id = ?")
      .bind(unrecordableUser, client.clientId)
      .run();

    expect(await oauthError(await oidc.tokenRequest(fields, client))).toEqual({ status: 400, error: "invalid_grant" });
    expect(await owedRows(client.clientId)).toMatchObject([
      {
        grant_id: grantOf(first.access_token),
        user_id: unrecordableUser,
        presented: await storedTokenForm(fields.code ?? ""),
        reason: `authorization code replay by ${client.clientId}`,
      },
    ]);
    expect(await revokedInOrg(first.access_token)).toBe(false);

    await env.DB.prepare("UPDATE owed_grant_cutoff SET user_id = ? WHERE client_id = ?")
      .bind(person.userId, client.clientId)
      .run();
    await ageOwedRows(client.clientId);
    await runCron();
    expect(await revokedInOrg(first.access_token)).toBe(true);
    expect(await owedRows(client.clientId)).toEqual([]);
  });

  it("a retry whose owed cut-offs cannot be read (D1 fails) is 503 temporarily_unavailable, never a 500; the next retry records them", async () => {
    const { client, first, refreshToken } = await owedRevocation();
    const owed = await owedRows(client.clientId);
    expect(owed).toHaveLength(1);

    // A real D1 failure of the retry's lookup: the table it reads is not there for this one request.
    await env.DB.prepare("ALTER TABLE owed_grant_cutoff RENAME TO owed_grant_cutoff_away").run();
    try {
      await revoked503(refreshToken, client);
    } finally {
      await env.DB.prepare("ALTER TABLE owed_grant_cutoff_away RENAME TO owed_grant_cutoff").run();
    }
    expect(await owedRows(client.clientId)).toEqual(owed);
    expect(await revokedInOrg(first.access_token)).toBe(false);

    await retriedWithObjectBack(client, first, refreshToken);
  });

  it("the cron's share is a range seek on owed_grant_cutoff_created_at_idx in its own order (migration 0030), no scan or sort", async () => {
    const { results } = await env.DB.prepare(
      `EXPLAIN QUERY PLAN SELECT grant_id FROM owed_grant_cutoff WHERE created_at < ?2
         ORDER BY created_at, grant_id LIMIT ?1`,
    )
      .bind(50, Date.now())
      .all<{ detail: string }>();
    const steps = results.map((row) => row.detail);
    expect(steps.some((step) => /INDEX owed_grant_cutoff_created_at_idx \(created_at<\?\)/.test(step))).toBe(true);
    expect(steps.filter((step) => step.startsWith("SCAN ") || step.includes("TEMP B-TREE"))).toEqual([]);
  });
});
