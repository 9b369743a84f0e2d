// One consent per person, client and org (migrations/0035_oidc_consent_one_per_grantor.sql):
// Better Auth's consent endpoint reads the row and then inserts or updates,
// so two consents posted at once both inserted. A unique index now holds
// the rule, and the insert that loses the race is turned into the update
// Better Auth would have made, so both requests still end in a code.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { getAuth } from "../../workers/authn/src/auth/create-auth.ts";
import { ISSUER, oidc, pkce, REDIRECT_URI } from "./oidc-helpers.ts";

async function consentRows(clientId: string, userId: string) {
  const { results } = await env.DB.prepare(
    "SELECT reference_id AS orgId FROM oidc_consent WHERE client_id = ? AND user_id = ?",
  )
    .bind(clientId, userId)
    .all<{ orgId: string | null }>();
  return results;
}

/** The consent page of a new authorization request of the client, shown: its form. */
async function consentForm(clientId: string, cookie: string, scope: string) {
  const { challenge } = await pkce();
  const request = oidc.codeRequest(clientId, challenge, { scope });
  const first = await oidc.authorize(request, cookie);
  const location = new URL(first.headers.get("Location") ?? "", ISSUER);
  expect(location.pathname).toBe(ENDPOINT.consent);
  return { state: request.state ?? "", form: await oidc.consentForm(location.toString(), cookie) };
}

function codeFor(response: Response, state: string) {
  const back = new URL(response.headers.get("Location") ?? "", ISSUER);
  return {
    status: response.status,
    target: `${back.origin}${back.pathname}`,
    state: back.searchParams.get("state"),
    code: /^\w+$/.test(back.searchParams.get("code") ?? ""),
    expected: state,
  };
}

describe("a person's consent to a client in an org is one row", () => {
  it("authorization requests consented at once (four tabs) each get their code, and leave one row", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const scope = "openid profile documents:read";
    const forms = [];
    for (let tab = 0; tab < 4; tab++) forms.push(await consentForm(client.clientId, person.cookie, scope));
    const answers = await Promise.all(forms.map((form) => oidc.answerConsent(form.form, true, person.cookie)));
    for (const [i, answer] of answers.entries()) {
      const state = forms[i]?.state ?? "";
      expect(codeFor(answer, state)).toEqual({ status: 303, target: REDIRECT_URI, state, code: true, expected: state });
    }
    expect((await consentRows(client.clientId, person.userId)).map((row) => row.orgId)).toEqual([person.orgId]);
    // The one row is the consent: the next request of the client goes straight back with a code.
    const { challenge } = await pkce();
    const again = oidc.codeRequest(client.clientId, challenge, { scope });
    const state = again.state ?? "";
    const back = await oidc.authorize(again, person.cookie);
    expect({ ...codeFor(back, state), status: back.status }).toEqual({
      status: 302,
      target: REDIRECT_URI,
      state,
      code: true,
      expected: state,
    });
  });

  it("Better Auth's insert of a consent the row already holds (the race's loser) updates it and does not fail", async () => {
    const person = await oidc.signUp();
    const client = await oidc.browserClient();
    const { adapter } = await getAuth(env).$context;
    for (const orgId of [person.orgId, null]) {
      const first = crypto.randomUUID();
      await env.DB.prepare(
        `INSERT INTO oidc_consent (id, client_id, user_id, reference_id, scopes, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, 1000, 1000)`,
      )
        .bind(first, client.clientId, person.userId, orgId, JSON.stringify(["openid"]))
        .run();
      // As Better Auth's consent endpoint creates the row once its read found none (its answer unused).
      await expect(
        adapter.create({
          model: "oauthConsent",
          data: {
            clientId: client.clientId,
            userId: person.userId,
            referenceId: orgId ?? undefined,
            scopes: ["openid", "email"],
            createdAt: new Date(2000),
            updatedAt: new Date(2000),
          },
        }),
      ).resolves.toBeNull();
      const rows = await env.DB.prepare(
        `SELECT id, scopes, created_at AS createdAt, updated_at AS updatedAt FROM oidc_consent
          WHERE client_id = ? AND user_id = ? AND reference_id IS ?`,
      )
        .bind(client.clientId, person.userId, orgId)
        .all<{ id: string; scopes: string; createdAt: number; updatedAt: number }>();
      expect({ orgId, rows: rows.results.map((row) => ({ ...row, scopes: row.scopes.includes("email") })) }).toEqual({
        orgId,
        rows: [{ id: first, scopes: true, createdAt: 1000, updatedAt: 2000 }],
      });
    }
  });

  it("the migration keeps one row of each (client, person, org) a race doubled: the last updated, then the oldest", async () => {
    // The migration's own dedupe statement, run on a scratch copy of the table (the real one can no longer hold doubles).
    const migration = (env.TEST_MIGRATIONS as { name: string; queries: string[] }[]).find((m) =>
      m.name.startsWith("0035_"),
    );
    const dedupe = migration?.queries.find((query) => query.includes("DELETE FROM"));
    expect(dedupe).toBeDefined();
    const scratch = `oidc_consent_dedupe_${crypto.randomUUID().replaceAll("-", "")}`;
    await env.DB.prepare(
      `CREATE TABLE ${scratch} (id text PRIMARY KEY, client_id text NOT NULL, user_id text, reference_id text,
         scopes text NOT NULL, created_at integer NOT NULL, updated_at integer NOT NULL)`,
    ).run();
    try {
      const rows: [string, string, string | null, number][] = [
        ["a1", "org-a", "u1", 10],
        ["a2", "org-a", "u1", 30],
        ["a3", "org-a", "u1", 20],
        ["b1", "org-b", "u1", 10],
        ["b2", "org-b", "u1", 10],
        ["n1", "", null, 10],
        ["n2", "", null, 10],
        ["c1", "org-a", "u2", 10],
      ];
      for (const [id, org, user, updated] of rows) {
        await env.DB.prepare(`INSERT INTO ${scratch} VALUES (?, 'client', ?, ?, '[]', 1, ?)`)
          .bind(id, user, org || null, updated)
          .run();
      }
      await env.DB.prepare((dedupe ?? "").replaceAll("`oidc_consent`", scratch)).run();
      const kept = await env.DB.prepare(`SELECT id FROM ${scratch} ORDER BY id`).all<{ id: string }>();
      expect(kept.results.map((row) => row.id)).toEqual(["a2", "b1", "c1", "n1"]);
    } finally {
      await env.DB.prepare(`DROP TABLE ${scratch}`).run();
    }
  });
});
