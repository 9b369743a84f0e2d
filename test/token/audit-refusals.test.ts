import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { FIRST_PARTY_CLIENT_ID, GRANT_TYPE, TOKEN_TYPE } from "../../shared/contracts/tokens.ts";
import { AUDIENCE, expectOAuthError, tokenRequest } from "./fixtures.ts";

// A file of its own: it counts every refusal row of the audit database.
describe("token endpoint refusals in the audit trail", () => {
  it("a refusal naming a public client is anonymous (anyone can send its id): aggregated, no client_id", async () => {
    const sent = 5;
    for (let i = 0; i < sent; i++) {
      const response = await tokenRequest({
        grant_type: GRANT_TYPE.tokenExchange,
        client_id: FIRST_PARTY_CLIENT_ID,
        subject_token: `not-a-session-${i}`,
        subject_token_type: TOKEN_TYPE.session,
        audience: AUDIENCE,
      });
      await expectOAuthError(response, 400, "invalid_request");
    }
    const refusals = async () =>
      (
        await env.AUDIT_DB.prepare("SELECT client_id, detail FROM audit_event WHERE kind = 'token.refused'").all<{
          client_id: string | null;
          detail: string;
        }>()
      ).results;
    await expect
      .poll(async () =>
        (await refusals()).reduce((n, r) => n + Number((JSON.parse(r.detail) as { count?: number }).count ?? 1), 0),
      )
      .toBe(sent);
    const rows = await refusals();
    expect(rows.length).toBeLessThanOrEqual(sent);
    for (const row of rows) {
      expect(row.client_id).toBeNull();
      expect(JSON.parse(row.detail)).toMatchObject({ error: "invalid_request", grant_type: GRANT_TYPE.tokenExchange });
    }
  });
});
