import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { CLOCK_TOLERANCE_SECONDS } from "../../shared/contracts/tokens.ts";
import { PRUNE_MARGIN_SECONDS, pruneExpiredRows } from "../../workers/token/src/maintenance/prune-expired.ts";
import type { TokenResponse } from "../support/runtime/browser-oidc.ts";
import { active, authorized, oauthError, refresh, revokedInOrg, tokens } from "./oidc-grant-fixtures.ts";
import { oidc } from "./oidc-fixture.ts";

// RFC 6749 §4.1.2: "If an authorization code is used more than once, the authorization server MUST deny the
// request and SHOULD revoke (when possible) all tokens previously issued based on that authorization code."
// Better Auth deletes the rows it stored on the code; the JWT access tokens of the code's grant are cut off by
// a `grant` revocation of their `grant_id` (workers/authn/src/oidc/browser-grant.ts withReplayedCode).

function redeemedRow(grantId: string) {
  return env.DB.prepare("SELECT client_id, org_id, user_id, expires_at FROM redeemed_code_grant WHERE grant_id = ?1")
    .bind(grantId)
    .first<{ client_id: string; org_id: string; user_id: string; expires_at: number }>();
}

async function grantEntries(orgId: string): Promise<number> {
  const snapshot = await env.ORG_STATE.getByName(orgStateName(orgId)).snapshot(orgId);
  return snapshot.entries.filter((entry) => entry.kind === "grant").length;
}

async function orgVersion(orgId: string): Promise<number> {
  return (await env.ORG_STATE.getByName(orgStateName(orgId)).snapshot(orgId)).version;
}

describe("RFC 6749 §4.1.2: a replayed authorization code ends the access tokens of its grant", () => {
  it("the code's and the refresh's access tokens are cut off; the person's other grant to the client lives on", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const fields = await authorized(person, client);
    const a = await tokens(await oidc.tokenRequest(fields, client));
    const b = await tokens(await refresh(a.refresh_token ?? "", client));
    const otherDevice = await tokens(await oidc.tokenRequest(await authorized(person, client), client));
    for (const token of [a.access_token, b.access_token]) expect(await active(token, client)).toBe(true);

    expect(await oauthError(await oidc.tokenRequest(fields, client))).toEqual({ status: 400, error: "invalid_grant" });

    for (const token of [a.access_token, b.access_token]) {
      expect(await active(token, client)).toBe(false);
      expect(await revokedInOrg(token)).toBe(true);
    }
    // Better Auth deleted the grant's refresh tokens.
    expect(await oauthError(await refresh(b.refresh_token ?? "", client))).toEqual({
      status: 400,
      error: "invalid_grant",
    });
    // Another grant carries another grant_id.
    expect(await active(otherDevice.access_token, client)).toBe(true);
    expect(await revokedInOrg(otherDevice.access_token)).toBe(false);
    const grantId = String(decodeJwt(a.access_token).grant_id);
    await expect
      .poll(async () => {
        const row = await env.AUDIT_DB.prepare(
          "SELECT org_id, detail FROM audit_event WHERE kind = 'revocation.recorded' AND instr(detail, ?) > 0",
        )
          .bind(grantId)
          .first<{ org_id: string; detail: string }>();
        return row ? { org_id: row.org_id, ...JSON.parse(row.detail) } : null;
      })
      .toMatchObject({
        org_id: person.orgId,
        revocation_kind: "grant",
        value: grantId,
        reason: `authorization code replay by ${client.clientId}`,
      });
  });

  it("two redemptions fired at once: one 200, one 400 invalid_grant, and the tokens the 200 yielded are cut off", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const fields = await authorized(person, client);
    const answers = await Promise.all([oidc.tokenRequest(fields, client), oidc.tokenRequest(fields, client)]);
    const statuses = answers.map((response) => response.status).sort();
    expect(statuses).toEqual([200, 400]);
    const won = answers.find((response) => response.status === 200) as Response;
    const lost = answers.find((response) => response.status === 400) as Response;
    expect(await oauthError(lost)).toEqual({ status: 400, error: "invalid_grant" });
    const issued = (await won.json()) as TokenResponse;
    expect(await active(issued.access_token, client)).toBe(false);
    expect(await revokedInOrg(issued.access_token)).toBe(true);
  });

  it("a garbage code is 400 invalid_grant and records no entry", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const fields = await authorized(person, client);
    const a = await tokens(await oidc.tokenRequest(fields, client));
    expect(
      await oauthError(await oidc.tokenRequest({ ...fields, code: "not-a-code-this-server-issued" }, client)),
    ).toEqual({ status: 400, error: "invalid_grant" });
    expect(await grantEntries(person.orgId)).toBe(0);
    expect(await active(a.access_token, client)).toBe(true);
  });

  it("a code redeemed without a refresh token: its replay cuts off its access token too, from the row its redemption left", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const fields = await authorized(person, client, { scope: "openid profile email documents:read" });
    const a = await tokens(await oidc.tokenRequest(fields, client));
    expect(a.refresh_token).toBeUndefined();
    const grantId = String(decodeJwt(a.access_token).grant_id);
    expect(await redeemedRow(grantId)).toEqual({
      client_id: client.clientId,
      org_id: person.orgId,
      user_id: person.userId,
      expires_at: Number(decodeJwt(a.access_token).exp) * 1000,
    });
    expect(await active(a.access_token, client)).toBe(true);

    expect(await oauthError(await oidc.tokenRequest(fields, client))).toEqual({ status: 400, error: "invalid_grant" });
    expect(await grantEntries(person.orgId)).toBe(1);
    expect(await active(a.access_token, client)).toBe(false);
    expect(await revokedInOrg(a.access_token)).toBe(true);
  });

  it("two redemptions without a refresh token fired at once: one 200, one 400 invalid_grant, and its access token is cut off", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const fields = await authorized(person, client, { scope: "openid profile email documents:read" });
    const answers = await Promise.all([oidc.tokenRequest(fields, client), oidc.tokenRequest(fields, client)]);
    expect(answers.map((response) => response.status).sort()).toEqual([200, 400]);
    const won = answers.find((response) => response.status === 200) as Response;
    const lost = answers.find((response) => response.status === 400) as Response;
    expect(await oauthError(lost)).toEqual({ status: 400, error: "invalid_grant" });
    const issued = (await won.json()) as TokenResponse;
    expect(issued.refresh_token).toBeUndefined();
    // The loser waited for the winner's turn, so it read the row the winner's redemption wrote.
    expect(await active(issued.access_token, client)).toBe(false);
    expect(await revokedInOrg(issued.access_token)).toBe(true);
  });

  it("replayed again and again, a code redeemed without a refresh token records its cut-off once, as one with a refresh token does", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    for (const scope of ["openid profile email documents:read", undefined]) {
      const fields = await authorized(person, client, scope === undefined ? undefined : { scope });
      const a = await tokens(await oidc.tokenRequest(fields, client));
      const grantId = String(decodeJwt(a.access_token).grant_id);
      const before = await orgVersion(person.orgId);
      for (let replay = 0; replay < 3; replay++) {
        expect(await oauthError(await oidc.tokenRequest(fields, client))).toEqual({
          status: 400,
          error: "invalid_grant",
        });
      }
      // One event in the org's log (its version), not one per replay: the first replay spent the row.
      expect(await orgVersion(person.orgId)).toBe(before + 1);
      expect(await redeemedRow(grantId)).toBeNull();
      expect(await active(a.access_token, client)).toBe(false);
      expect(await revokedInOrg(a.access_token)).toBe(true);
    }
  });

  it("the redemption's row lives until its access token has expired, then the cron's prune deletes it", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const fields = await authorized(person, client, { scope: "openid profile email documents:read" });
    const a = await tokens(await oidc.tokenRequest(fields, client));
    const grantId = String(decodeJwt(a.access_token).grant_id);
    const expiresAt = Number(decodeJwt(a.access_token).exp) * 1000;
    const keptUntil = expiresAt + (CLOCK_TOLERANCE_SECONDS + PRUNE_MARGIN_SECONDS) * 1000;
    await pruneExpiredRows(env.DB, keptUntil);
    expect(await redeemedRow(grantId)).not.toBeNull();
    const counts = await pruneExpiredRows(env.DB, keptUntil + 1);
    expect(counts.redeemedCodeGrants).toBeGreaterThanOrEqual(1);
    expect(await redeemedRow(grantId)).toBeNull();
  });

  it("a code redeemed with a refresh token writes no redemption row: its refresh token rows name the grant", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const a = await tokens(await oidc.tokenRequest(await authorized(person, client), client));
    expect(a.refresh_token).toBeTruthy();
    expect(await redeemedRow(String(decodeJwt(a.access_token).grant_id))).toBeNull();
  });
});
