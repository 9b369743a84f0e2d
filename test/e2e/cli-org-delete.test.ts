// `mono-auth org delete ORG --yes`: the real binary against the whole system
// served locally (test/support/system.ts). Without `--yes` nothing is sent
// and nothing deleted; with it the org is gone, the gateway refuses a token
// its client was issued before (within its staleness bound, 1 s here), the
// client mints no more, and a second deletion is the admin API's 404
// not_found as the CLI reports it. The route's guarantees under a refusing
// object or a race: test/token/admin-org-delete.test.ts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { GRANT_TYPE } from "../../shared/contracts/tokens.ts";
import { expectCliRefusal } from "../support/cli-refusal.ts";
import {
  clientCredentialsToken,
  type MachineClient,
  type OperatorCli,
  operatorCli,
  orgWithMachineClient,
} from "../support/operator-cli.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

let system: RunningSystem;
let operator: OperatorCli;
let orgId: string;
let client: MachineClient;

beforeAll(async () => {
  system = await startSystem({ gatewayVars: { REVOCATION_MAX_STALENESS_MS: "1000" } });
  operator = await operatorCli(system, "cli-org-delete");
  ({ orgId, client } = await orgWithMachineClient(operator, "Closing Co"));
});
afterAll(() => system?.close());

/** The gateway's refusal code for a request with the token, or "ok" when it passed the trust checks. */
async function gatewayVerdict(token: string): Promise<string> {
  const response = await system.fetch("/api/documents", { headers: { Authorization: `Bearer ${token}` } });
  if (response.status !== 401) return "ok";
  return ((await response.json()) as { error_description?: string }).error_description ?? "unexplained 401";
}

async function listedOrgIds(): Promise<string[]> {
  return (await operator.json<{ orgs: { id: string }[] }>("org", "list")).orgs.map((o) => o.id);
}

describe("mono-auth org delete", () => {
  it("refuses without --yes, deletes with it; the org's tokens are refused and a repeat is 404 not_found", async () => {
    const token = await clientCredentialsToken(system, client);
    expect(await gatewayVerdict(token)).toBe("ok");

    await expectCliRefusal(operator.cli("org", "delete", orgId), /cannot be undone; add --yes to confirm/);
    expect(await listedOrgIds()).toContain(orgId);
    expect(await gatewayVerdict(token)).toBe("ok");

    const deleted = await operator.json<{ id: string; name: string; deleted: boolean; cutoff: string }>(
      ...["org", "delete", orgId, "--yes"],
    );
    expect(deleted).toMatchObject({ id: orgId, name: "Closing Co", deleted: true, cutoff: "recorded" });
    expect(await listedOrgIds()).not.toContain(orgId);
    await expect.poll(() => gatewayVerdict(token), { timeout: 10_000, interval: 250 }).toMatch(/^ERR_TOKEN_REVOKED:/);
    // Its client is unknown once its org is gone (docs/revocation.md): RFC 6749 §5.2.
    const mint = await system.fetch(ENDPOINT.token, {
      method: "POST",
      headers: {
        Authorization: `Basic ${btoa(`${client.client_id}:${client.client_secret}`)}`,
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams({ grant_type: GRANT_TYPE.clientCredentials }),
    });
    expect(mint.status).toBe(401);
    expect(((await mint.json()) as { error: string }).error).toBe("invalid_client");

    await expectCliRefusal(operator.cli("org", "delete", orgId, "--yes"), /refused \(404 not_found\)/);
  });

  it("prints the deletion as a table without --json", async () => {
    const other = (await operator.json<{ id: string }>("org", "create", "--name", "Table Co")).id;
    const run = await operator.cli("org", "delete", other, "--yes");
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(other);
    expect(run.stdout).toMatch(/cutoff\s+recorded/);
  });
});
