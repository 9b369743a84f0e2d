// `mono-auth invite list|revoke` against the locally served system: an
// operator lists an org's host invites (never the invite JWTs) and withdraws
// one sent to the wrong host; the host's `host bootstrap` with it is then
// refused invite_invalid, a second withdrawal is 404, and an invite a host
// already redeemed is 409.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/mono-auth-cli.ts";
import { type OperatorCli, operatorCli } from "../support/operator-cli.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";
import type { InviteView } from "../../shared/contracts/host-invites.ts";
import { expectCliRefusal } from "../support/cli-refusal.ts";

let system: RunningSystem;
let operator: OperatorCli;

beforeAll(async () => {
  system = await startSystem();
  operator = await operatorCli(system, "invite");
});
afterAll(() => system?.close());

interface CreatedInvite {
  invite: string;
  jti: string;
}

/** What a host runs, in its own directory, with no operator profile. */
const hostBootstrap = (invite: string, out: string) =>
  runCli(["host", "bootstrap", "--invite", invite, "--url", system.origin, "--out", out, "--json"], {
    cwd: operator.dir,
  });

const create = (orgId: string, host: string) =>
  operator.json<CreatedInvite>(
    ...["invite", "create", "--org", orgId, "--scopes", "documents:read", "--ttl", "1h", "--label", `host=${host}`],
  );

describe("mono-auth invite list|revoke", () => {
  it("lists the org's invites without their JWTs; revoke withdraws one, which then no host can redeem", async () => {
    const orgId = (await operator.json<{ id: string }>("org", "create", "--name", "Hosts Co")).id;
    const kept = await create(orgId, "web-1");
    const wrong = await create(orgId, "web-2");

    const listed = await operator.json<{ invites: InviteView[] }>("invite", "list", "--org", orgId);
    expect(listed.invites.map((i) => [i.jti, i.state, i.labels.host])).toEqual([
      [wrong.jti, "pending", "web-2"],
      [kept.jti, "pending", "web-1"],
    ]);
    const table = await operator.cli("invite", "list", "--org", orgId, "--state", "pending");
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`${wrong.jti} +pending +host=web-2`));
    for (const text of [JSON.stringify(listed), table.stdout]) {
      expect(text).not.toContain(kept.invite);
      expect(text).not.toContain(wrong.invite);
    }

    const withdrawn = await operator.json<InviteView>("invite", "revoke", wrong.jti, "--org", orgId);
    expect(withdrawn).toMatchObject({ jti: wrong.jti, state: "withdrawn", labels: { host: "web-2" } });
    await expectCliRefusal(hostBootstrap(wrong.invite, join(operator.dir, "web-2.json")), /400 invite_invalid/);
    await expectCliRefusal(operator.cli("invite", "revoke", wrong.jti, "--org", orgId), /refused \(404 not_found\)/);

    const after = await operator.json<{ invites: InviteView[] }>("invite", "list", "--org", orgId);
    expect(after.invites.map((i) => i.jti)).toEqual([kept.jti]);
  });

  it("revoke of an invite a host already redeemed is refused 409 conflict, naming the host's client", async () => {
    const orgId = (await operator.json<{ id: string }>("org", "create", "--name", "Redeemed Co")).id;
    const { invite, jti } = await create(orgId, "db-1");
    const host = await hostBootstrap(invite, join(operator.dir, "db-1.json"));
    expect(host.code, host.stderr).toBe(0);
    const { client_id } = JSON.parse(host.stdout) as { client_id: string };
    await expectCliRefusal(
      operator.cli("invite", "revoke", jti, "--org", orgId),
      new RegExp(`409 conflict.*${client_id}`),
    );
    const redeemed = await operator.json<{ invites: InviteView[] }>(
      "invite",
      "list",
      "--org",
      orgId,
      "--state",
      "redeemed",
    );
    expect(redeemed.invites).toEqual([expect.objectContaining({ jti, state: "redeemed", client_id })]);
    await expectCliRefusal(operator.cli("invite", "list", "--org", orgId, "--state", "withdrawn"), /--state: one of/);
  });
});
