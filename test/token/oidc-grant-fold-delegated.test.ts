import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { MAX_LIVE_BROWSER_GRANT_REVOCATIONS_PER_PERSON as CAP } from "../../shared/contracts/revocation.ts";
import { ID_JAG_GRANT_CLIENTS_CLAIM, ID_JAG_GRANTS_CLAIM, JWT_TYP } from "../../shared/contracts/tokens.ts";
import type { Client } from "../support/runtime/browser-oidc.ts";
import { clientToken, createTestOrg, type TestClient } from "./clients-fixtures.ts";
import { expectOAuthError, signWithOurKey } from "./fixtures.ts";
import { delegatedIdJag, jagClaims, redeem } from "./id-jag-fixtures.ts";
import { API, oidc, revocation } from "./oidc-fixture.ts";
import {
  earlierRevocations,
  grant,
  orgState,
  type Person,
  refusedAtGateway,
  revokedInOrg,
} from "./oidc-grant-fixtures.ts";
import { introspected } from "./revocation-fixtures.ts";
import {
  delegationParams,
  exchange,
  grantDelegation,
  issued,
  registerAgent,
  seedMember,
} from "./token-exchange-fixtures.ts";

// A `client_subject` cut-off (the fold of one person's browser-grant
// revocations at one client, docs/revocation.md "Bounds") ends the person's
// tokens at that client, and the tokens delegated to another client from
// their browser grant there: an agent's token exchanged (RFC 8693, with an
// actor) from the person's browser token names that grant in `grant_chain`
// and its client in `grant_chain_clients`. A token resting on their grant at
// another client is not the folding client's to end. A delegated token
// without `grant_chain_clients` (signed before it existed) does not say
// whose grant it rests on, so any cut-off of the person refuses it: a deploy
// never lets one through.

/** An agent's token exchanged from the person's browser access token, acting for them. */
async function delegatedFrom(browserAccessToken: string, agent: TestClient) {
  return issued(
    await exchange(agent, delegationParams(browserAccessToken, await clientToken(agent), { audience: API })),
  );
}

/** An ID-JAG of ours for the agent, exchanged from the person's browser access token. */
async function idJagFrom(browserAccessToken: string, agent: TestClient): Promise<string> {
  return (await delegatedIdJag(agent, browserAccessToken, { resource: API })).access_token;
}

/** The same claims without `omit`, re-signed with our key: a token or grant as this issuer minted it before the claim. */
function oldShape(token: string, typ: string, omit: string): Promise<string> {
  const { [omit]: _dropped, ...claims } = decodeJwt(token);
  return signWithOurKey(typ, { ...claims, jti: crypto.randomUUID() });
}

/** Folds the person's browser grant revocations at `client`: CAP earlier ones, then one of a live grant's refresh token. */
async function foldAt(person: Person, sub: string, client: Client): Promise<void> {
  await earlierRevocations(person, sub, client, CAP);
  const device = await grant(person, client);
  const response = await revocation({ token: device.refresh_token ?? "", token_type_hint: "refresh_token" }, client);
  expect(response.status).toBe(200);
  const { entries } = await orgState(person.orgId).snapshot(person.orgId);
  expect(entries.filter((e) => e.kind === "client_subject")).toHaveLength(1);
}

describe("a client_subject cut-off and tokens delegated from the person's browser grants", () => {
  it("refuses those resting on their grant at the folding client, keeps those resting on their grant at another, and refuses those that do not name the grant's client", async () => {
    const person = await oidc.signUp();
    const folding = await oidc.browserClient();
    const other = await oidc.browserClient();
    const atFolding = await grant(person, folding);
    const atOther = await grant(person, other);
    const sub = String(decodeJwt(atFolding.access_token).sub);
    const agent = await registerAgent(person.orgId);
    await grantDelegation(person.orgId, person.userId, agent);

    const fromFolding = await delegatedFrom(atFolding.access_token, agent);
    const fromOther = await delegatedFrom(atOther.access_token, agent);
    // The browser grant is named in the chain, and its client beside it.
    const grantAtFolding = String(decodeJwt(atFolding.access_token).grant_id);
    const grantAtOther = String(decodeJwt(atOther.access_token).grant_id);
    expect(fromFolding.claims).toMatchObject({
      sub,
      client_id: agent.clientId,
      grant_chain: [grantAtFolding],
      grant_chain_clients: { [grantAtFolding]: folding.clientId },
    });
    expect(fromOther.claims).toMatchObject({ grant_chain_clients: { [grantAtOther]: other.clientId } });
    // Through an ID-JAG of ours: the grant carries them, and so does what it is redeemed for.
    const jagFromFolding = await idJagFrom(atFolding.access_token, agent);
    const jagFromOther = await idJagFrom(atOther.access_token, agent);
    expect(decodeJwt(jagFromOther)[ID_JAG_GRANTS_CLAIM]).toContain(grantAtOther);
    expect(decodeJwt(jagFromOther)[ID_JAG_GRANT_CLIENTS_CLAIM]).toEqual({ [grantAtOther]: other.clientId });
    const oldJagFromOther = await oldShape(jagFromOther, JWT_TYP.idJag, ID_JAG_GRANT_CLIENTS_CLAIM);
    const redeemedFromFolding = (await issued(await redeem(agent, await idJagFrom(atFolding.access_token, agent)))).body
      .access_token;
    expect(decodeJwt(redeemedFromFolding).grant_chain_clients).toEqual({ [grantAtFolding]: folding.clientId });
    // Minted before the claim existed: rests on the person's grant at the other client, and does not say so.
    const oldFromOther = await oldShape(fromOther.body.access_token, JWT_TYP.accessToken, "grant_chain_clients");
    for (const token of [fromFolding.body.access_token, fromOther.body.access_token, oldFromOther]) {
      expect(await revokedInOrg(token)).toBe(false);
    }

    await foldAt(person, sub, folding);

    // Resting on the person's grant at the folding client: refused at the object, by introspection, at
    // the gateway; as a subject token; and an ID-JAG of it is not redeemed.
    for (const token of [fromFolding.body.access_token, redeemedFromFolding]) {
      expect(await revokedInOrg(token)).toBe(true);
      expect(await introspected(token, agent)).toEqual({ active: false });
      expect(await refusedAtGateway(token)).toBe(true);
    }
    // RFC 8693 §2.2.2: a subject_token that is invalid for any reason is invalid_request.
    const refusedSubject = await expectOAuthError(
      await exchange(agent, delegationParams(fromFolding.body.access_token, await clientToken(agent))),
      400,
      "invalid_request",
    );
    expect(refusedSubject.error_description).toBe("subject_token: ERR_TOKEN_REVOKED: token revoked");
    await expectOAuthError(await redeem(agent, jagFromFolding), 400, "invalid_grant");

    // Resting on the person's grant at another client: not the folding client's to end.
    expect(await revokedInOrg(fromOther.body.access_token)).toBe(false);
    expect(await introspected(fromOther.body.access_token, agent)).toMatchObject({ active: true, sub });
    expect(await refusedAtGateway(fromOther.body.access_token)).toBe(false);
    const again = await issued(
      await exchange(agent, delegationParams(fromOther.body.access_token, await clientToken(agent))),
    );
    expect(again.claims).toMatchObject({ grant_chain_clients: { [grantAtOther]: other.clientId } });
    expect(decodeJwt((await issued(await redeem(agent, jagFromOther))).body.access_token)).toMatchObject({
      grant_chain_clients: { [grantAtOther]: other.clientId },
    });

    // The same token and grant in the old shape: whose grant it rests on is unknown, so refused (fail closed).
    expect(await revokedInOrg(oldFromOther)).toBe(true);
    expect(await introspected(oldFromOther, agent)).toEqual({ active: false });
    expect(await refusedAtGateway(oldFromOther)).toBe(true);
    await expectOAuthError(await redeem(agent, oldJagFromOther), 400, "invalid_grant");
  });

  it("an ID-JAG of ours whose grant clients do not line up with its grants is invalid_grant, and nothing is minted", async () => {
    const orgId = await createTestOrg();
    const userId = await seedMember(orgId);
    const agent = await registerAgent(orgId);
    const grants = { [ID_JAG_GRANTS_CLAIM]: ["oidc-grant:g"] };
    const jag = (clients: unknown) =>
      signWithOurKey(
        JWT_TYP.idJag,
        jagClaims(orgId, userId, agent.clientId, { ...grants, [ID_JAG_GRANT_CLIENTS_CLAIM]: clients }),
      );
    for (const clients of [{}, { "oidc-grant:h": "oidc_a" }, { "oidc-grant:g": "" }, ["oidc_a"]]) {
      const body = await expectOAuthError(await redeem(agent, await jag(clients)), 400, "invalid_grant");
      expect(body.error_description).toBe("assertion: grant-clients invalid");
    }
    // The same grant, lined up, is redeemed, and what it is redeemed for names the grant's client.
    const redeemed = await issued(await redeem(agent, await jag({ "oidc-grant:g": "oidc_a" })));
    expect(redeemed.claims).toMatchObject({
      grant_chain: ["oidc-grant:g"],
      grant_chain_clients: { "oidc-grant:g": "oidc_a" },
    });
  });
});
