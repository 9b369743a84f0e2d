// A deleted org's machines and agents get no more tokens: its `org`
// revocation cuts off only the tokens issued up to it, so a client that could
// still authenticate would mint fresh ones for an org that is gone.
import { describe, expect, it } from "vitest";
import { GRANT_TYPE } from "../../shared/contracts/tokens.ts";
import { basicAuthorization, registerTestClient, type TestClient } from "./clients-fixtures.ts";
import { expectOAuthError, tokenRequest } from "./fixtures.ts";
import { deleteOrg, oidc } from "./oidc-fixture.ts";

function clientCredentials(client: TestClient) {
  return tokenRequest(
    { grant_type: GRANT_TYPE.clientCredentials },
    { headers: { Authorization: basicAuthorization(client.clientId, client.secret) } },
  );
}

describe("an org deleted", () => {
  it("its client is refused client_credentials (RFC 6749 §5.2 invalid_client)", async () => {
    const owner = await oidc.signUp("Closing owner");
    const client = await registerTestClient({ orgId: owner.orgId });
    expect((await clientCredentials(client)).status).toBe(200);

    const deleted = await deleteOrg(owner.cookie, owner.orgId);
    expect(deleted.status).toBe(200);

    await expectOAuthError(await clientCredentials(client), 401, "invalid_client");
  });

  it("a client of a live org still mints", async () => {
    const owner = await oidc.signUp("Staying owner");
    const client = await registerTestClient({ orgId: owner.orgId });
    expect((await clientCredentials(client)).status).toBe(200);
  });
});
