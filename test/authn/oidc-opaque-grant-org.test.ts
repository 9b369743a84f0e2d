// A browser grant whose token request names no RFC 8707 resource yields an
// opaque access token (and, with `openid`, an ID token): Better Auth calls
// the provider's access-token claims hook, where the org check lived, for
// JWT access tokens only. Every token a code or refresh token yields must
// still rest on the person's membership of the grant's org, an unbanned
// person and a client of that org (workers/authn/src/oidc/org-claim.ts,
// workers/authn/src/mcp-clients/org-clients.ts): RFC 6749 §5.2 `invalid_grant`.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { orgIdClaim } from "../../workers/authn/src/oidc/org-claim.ts";
import { oidc, pkce, REDIRECT_URI, type TokenResponse } from "./oidc-helpers.ts";

/** A consented code for a grant with no resource (an opaque access token), and its redemption's fields. */
async function opaqueGrant() {
  const person = await oidc.signUp();
  const client = await oidc.browserClient();
  const { verifier, challenge } = await pkce();
  const back = await oidc.authorizeAndConsent(
    oidc.codeRequest(client.clientId, challenge, { resource: undefined }),
    person.cookie,
  );
  const fields = {
    grant_type: "authorization_code",
    code: back.searchParams.get("code") ?? "",
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
  };
  return { person, client, fields };
}

async function refused(response: Response, description: string) {
  expect({ status: response.status, body: await response.json() }).toEqual({
    status: 400,
    body: { error: "invalid_grant", error_description: description },
  });
}

const removeMember = (userId: string, orgId: string) =>
  env.DB.prepare("DELETE FROM member WHERE user_id = ? AND organization_id = ?").bind(userId, orgId).run();

const NOT_A_MEMBER = "no longer a member of the authorized organization";

describe("a grant of opaque tokens rests on the org like any other (RFC 6749 §5.2)", () => {
  it("a code redeemed after its person left the org yields nothing: invalid_grant", async () => {
    const { person, client, fields } = await opaqueGrant();
    await removeMember(person.userId, person.orgId);
    await refused(await oidc.tokenRequest(fields, client), NOT_A_MEMBER);
  });

  it("a refresh token stops yielding tokens once its person left the org, or was banned", async () => {
    const { person, client, fields } = await opaqueGrant();
    const redeemed = await oidc.tokenRequest(fields, client);
    expect(redeemed.status).toBe(200);
    const tokens = (await redeemed.json()) as TokenResponse;
    // Opaque indeed: the path this file is about.
    expect(tokens.access_token.split(".")).toHaveLength(1);
    const refresh = (token: string) => oidc.tokenRequest({ grant_type: "refresh_token", refresh_token: token }, client);
    const first = await refresh(tokens.refresh_token ?? "");
    expect(first.status).toBe(200);
    const next = ((await first.json()) as TokenResponse).refresh_token ?? "";

    await env.DB.prepare("INSERT INTO user_ban (user_id, reason, banned_by, banned_at) VALUES (?, 'test', 'test', ?)")
      .bind(person.userId, Date.now())
      .run();
    await refused(await refresh(next), "the person is banned");
    await env.DB.prepare("DELETE FROM user_ban WHERE user_id = ?").bind(person.userId).run();

    await removeMember(person.userId, person.orgId);
    await refused(await refresh(next), NOT_A_MEMBER);
  });

  it("a grant of no org yields nothing, as a JWT grant of no org does", async () => {
    // No such code is issued any more: with no active org the consent is refused and an authorize
    // never skips to a code (test/authn/oidc-consent-org.test.ts). The check stays for one from before.
    const person = await oidc.signUp();
    await expect(orgIdClaim(env.DB, person.userId, undefined)).rejects.toMatchObject({
      body: { error: "invalid_grant", error_description: "the authorization names no organization" },
    });
  });

  it("a client another org registered gets no opaque token for this org's person either", async () => {
    const { client, fields } = await opaqueGrant();
    await env.DB.prepare("UPDATE oidc_client SET metadata = ? WHERE client_id = ?")
      .bind(JSON.stringify({ org_id: `org-${crypto.randomUUID()}` }), client.clientId)
      .run();
    await refused(
      await oidc.tokenRequest(fields, client),
      "ERR_CLIENT_ORG: the client was registered by another organization",
    );
  });
});
