// The policy lifecycle end to end over HTTP, against the whole system: an
// operator publishes a version through the admin API, and the gateway's
// decisions for a machine client of the org follow it within the revocation
// staleness bound (1 s here, so the location cache path is the one used);
// a rollback brings the earlier version back the same way.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { GRANT_TYPE } from "../../shared/contracts/tokens.ts";
import { type InteropOperator, interopOperator } from "../support/interop.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

let system: RunningSystem;
let admin: InteropOperator["admin"];
let orgId: string;
let clientBearer: string;

/** Members with the scope read every row of their org (the default policy shows only public and internal ones). */
const ORG_WIDE = {
  format: 2,
  rules: [
    {
      id: "org-wide-read",
      effect: "allow",
      resource: "documents",
      actions: ["read"],
      when: '"documents:read" in subject.scope',
      filter: { org_id: { attr: "subject.org_id" } },
    },
  ],
};
const NOTHING = { format: 2, rules: [] };

function basic(clientId: string, secret: string): string {
  return `Basic ${btoa(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`)}`;
}

async function clientCredentials(clientId: string, secret: string): Promise<string> {
  const response = await system.fetch(ENDPOINT.token, {
    method: "POST",
    headers: { Authorization: basic(clientId, secret), "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: GRANT_TYPE.clientCredentials }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** What the gateway lets the org's machine client read: the classifications it sees, or the refusal. */
async function visible(): Promise<string> {
  const response = await system.fetch(ENDPOINT.documents, { headers: { Authorization: `Bearer ${clientBearer}` } });
  if (response.status !== 200) return `${response.status} ${((await response.json()) as { error: string }).error}`;
  const body = (await response.json()) as { documents: { org_id: string; classification: string }[] };
  expect(body.documents.every((d) => d.org_id === orgId)).toBe(true);
  return body.documents
    .map((d) => d.classification)
    .sort()
    .join(" ");
}

/** The request the machine client makes, as a test case: what a policy must decide for it. */
function machineRead(expect: "allow" | "deny") {
  return {
    name: `a machine client ${expect === "allow" ? "reads" : "cannot read"} documents`,
    request: {
      subject: { id: "mac_x", org_id: "org-1", client_id: "mac_x", scope: ["documents:read"] },
      resource: { type: "documents" },
      action: "read",
      context: { method: "GET", path: ENDPOINT.documents },
    },
    expect,
  };
}

async function saveAndPublish(document: unknown, tests: unknown[]): Promise<number> {
  const saved = await admin("POST", `/orgs/${orgId}/policies`, { document, tests });
  expect(saved.status).toBe(201);
  const { version } = (await saved.json()) as { version: number };
  const published = await admin("POST", `/orgs/${orgId}/policies/${version}/publish`);
  expect(published.status).toBe(200);
  return version;
}

beforeAll(async () => {
  system = await startSystem({ gatewayVars: { REVOCATION_MAX_STALENESS_MS: "1000" } });
  const operator = await interopOperator(system);
  admin = operator.admin;
  orgId = await operator.createOrg("Policy lifecycle");
  const created = await operator.registerClient(orgId, { client_name: "reader" });
  clientBearer = await clientCredentials(created.client_id, created.client_secret as string);
});
afterAll(() => system?.close());

describe("policy lifecycle through the gateway", () => {
  it("publish → every decision switches within the bound; rollback → back", async () => {
    // No version published: the default policy (public and internal rows).
    expect(await visible()).toBe("internal public");

    const orgWide = await saveAndPublish(ORG_WIDE, [machineRead("allow")]);
    await expect.poll(visible).toBe("confidential internal public restricted");

    await saveAndPublish(NOTHING, [machineRead("deny")]);
    await expect.poll(visible).toBe("403 access_denied");

    const rollback = await admin("POST", `/orgs/${orgId}/policies/${orgWide}/rollback`);
    expect(rollback.status).toBe(200);
    await expect.poll(visible).toBe("confidential internal public restricted");
  });

  it("leaves the gateway on the current version when a publish is refused by its tests", async () => {
    const current = await visible();
    const currentVersion = async () =>
      ((await (await admin("GET", `/orgs/${orgId}/policies/current`)).json()) as { version: number }).version;
    const before = await currentVersion();
    const saved = await admin("POST", `/orgs/${orgId}/policies`, { document: NOTHING, tests: [machineRead("allow")] });
    const { version } = (await saved.json()) as { version: number };
    const refused = await admin("POST", `/orgs/${orgId}/policies/${version}/publish`);
    expect(refused.status).toBe(422);
    expect(await refused.json()).toMatchObject({ error: "policy_tests_failed", failed: 1, total: 1 });
    // The org's object, which every gateway reads, still names the version before.
    expect(await currentVersion()).toBe(before);
    expect(await visible()).toBe(current);
  });
});
