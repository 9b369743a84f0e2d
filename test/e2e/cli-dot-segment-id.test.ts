// An id or `--org` is put in the admin API's path as a segment; `.` and `..` (and `%2e`, which the
// URL parser reads as a dot) are dot segments fetch resolves away (RFC 3986 §5.2.4), so the command
// was sent to another resource than it names: `user remove --org X --id ..` went out as
// DELETE /admin/v1/orgs/X/, `access-request deny .. --org X` as POST /admin/v1/orgs/X/deny, and
// `--org ..` drops the org from the path altogether. The CLI refuses such a path before anything is sent.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectCliRefusal } from "../support/cli-refusal.ts";
import { type OperatorCli, operatorCli } from "../support/operator-cli.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

let system: RunningSystem;
let operator: OperatorCli;

beforeAll(async () => {
  system = await startSystem();
  operator = await operatorCli(system, "cli-dot-segment-id");
});
afterAll(() => system?.close());

async function listedOrgIds(): Promise<string[]> {
  return (await operator.json<{ orgs: { id: string }[] }>("org", "list")).orgs.map((o) => o.id);
}

describe("an id or --org that is a dot segment", () => {
  it("is refused with exit 1 before anything is sent, and the org is left as it was", async () => {
    const orgId = (await operator.json<{ id: string }>("org", "create", "--name", "Dot Segment Co")).id;
    for (const id of ["..", "."]) {
      const run = operator.cli("user", "remove", "--org", orgId, "--id", id);
      await expectCliRefusal(
        run,
        /^mono-auth: error: an id or --org cannot be \. or \.\. \(it would address another resource\)\n$/,
      );
      expect((await run).code, id).toBe(1);
      expect(await listedOrgIds(), id).toContain(orgId);
    }
    await expectCliRefusal(
      operator.cli("access-request", "deny", "..", "--org", orgId),
      /^mono-auth: error: an id or --org cannot be \. or \.\./,
    );
    expect(await listedOrgIds()).toContain(orgId);
  });
});
