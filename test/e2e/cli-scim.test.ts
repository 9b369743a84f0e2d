// `mono-auth scim token create|list|delete` against the locally served system,
// and a directory using the token through the gateway (ENDPOINT.scim): it
// provisions a person into the org; once the token is deleted it is refused.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { type OperatorCli, operatorCli } from "../support/operator-cli.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

let system: RunningSystem;
let operator: OperatorCli;

beforeAll(async () => {
  system = await startSystem();
  operator = await operatorCli(system, "scim");
});
afterAll(() => system?.close());

function directory(token: string, method: string, path: string, body?: unknown) {
  return system.fetch(`${ENDPOINT.scim}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "Content-Type": "application/scim+json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

describe("mono-auth scim token", () => {
  it("creates a token an org's directory provisions with through the gateway, lists it, deletes it", async () => {
    const orgId = (await operator.json<{ id: string }>("org", "create", "--name", "Directory Co")).id;
    const created = await operator.json<{ id: string; token: string; scim_url: string }>(
      ...["scim", "token", "create", "--org", orgId, "--description", "Okta"],
    );
    expect(created.scim_url).toBe(`${system.origin}${ENDPOINT.scim}`);

    // A directory provisions only in the org's verified domains
    // (workers/authn/src/scim/org-domains.ts): an SSO provider's domain, marked
    // verified as `/sso/verify-domain` marks it (no DNS zone in a test).
    await system.execMain(
      `INSERT INTO sso_provider (id, issuer, user_id, provider_id, organization_id, domain, domain_verified)
       SELECT ?, 'https://idp.corp.example', id, ?, ?, 'corp.example', 1 FROM user WHERE email = 'scim@example.com'`,
      crypto.randomUUID(),
      `idp-${crypto.randomUUID()}`,
      orgId,
    );
    const userName = `ada-${crypto.randomUUID().slice(0, 8)}@corp.example`;
    const provisioned = await directory(created.token, "POST", "/Users", {
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
      userName,
    });
    expect(provisioned.status).toBe(201);
    const members = await operator.json<{ members: { email: string; role: string }[] }>("user", "list", "--org", orgId);
    expect(members.members).toContainEqual(expect.objectContaining({ email: userName, role: "member" }));

    const listed = await operator.json<{ scim_tokens: { id: string }[] }>("scim", "token", "list", "--org", orgId);
    expect(listed.scim_tokens.map((t) => t.id)).toEqual([created.id]);
    expect(JSON.stringify(listed)).not.toContain(created.token);

    await operator.json("scim", "token", "delete", "--org", orgId, "--id", created.id);
    const refused = await directory(created.token, "GET", "/Users");
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ status: "401", detail: "the SCIM bearer token is not valid" });
  });
});
