// A SCIM demotion records its revocation before the write as well as after
// it: recorded only after, a write whose revocation failed (503) kept the
// new role, and the directory's retry, finding nothing left to change,
// answered 200 with the demoted admin's tokens still carrying `admin`.
import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { oweChangedRoles } from "../../workers/authn/src/scim/roles.ts";
import { unrecordableId } from "../support/runtime/owed-cutoffs.ts";
import {
  directoryAdmin,
  directoryPeople,
  expectUnavailable,
  NOT_RECORDED,
  PATCH_SCHEMA,
  rolesIn,
  scim,
  scimOrg,
} from "./scim-helpers.ts";

// The admin's id is longer than the org's object takes (unrecordableId): no revocation of them can be
// recorded. A real refusal of the real object, not a stand-in.
describe("a SCIM role change whose revocation cannot be recorded", { timeout: 30_000 }, () => {
  it("changes nothing: 503, the admin keeps the group and the role until it can be", async () => {
    const { orgId, token } = await scimOrg();
    const { userId, groupId } = await directoryAdmin(orgId, unrecordableId());
    const removed = await scim("PATCH", `/Groups/${groupId}`, token, {
      schemas: [PATCH_SCHEMA],
      Operations: [{ op: "replace", path: "members", value: [] }],
    });
    await expectUnavailable(removed, NOT_RECORDED);
    expect(await rolesIn(orgId, [userId])).toEqual(["admin"]);
    const group = await env.DB.prepare("SELECT count(*) AS n FROM scim_group_member WHERE group_id = ?")
      .bind(groupId)
      .first<{ n: number }>();
    expect(group?.n).toBe(1);
  });
});

describe("a SCIM role projection owes its second cut-off with its write", () => {
  // The statement group-store.ts puts last in the write's batch (after the
  // projections): a row for each person whose role the batch left changed,
  // none for the others. Run here on its own against real D1, after the
  // roles were changed as a projection changes them.
  it("one row per person whose role changed, with the role before; none for the unchanged", async () => {
    const { orgId } = await scimOrg();
    const [promoted = "", unchanged = ""] = await directoryPeople(orgId, 2);
    await env.DB.prepare("UPDATE member SET role = 'admin' WHERE organization_id = ? AND user_id = ?")
      .bind(orgId, unchanged)
      .run();
    const before = [
      { userId: promoted, role: "admin" },
      { userId: unchanged, role: "admin" },
    ];
    const owed = oweChangedRoles(drizzle(env.DB), orgId, before);
    await owed.statement.run();
    const rows = await env.DB.prepare(
      "SELECT id, user_id AS userId, reason, previous_role AS previousRole FROM owed_member_cutoff WHERE org_id = ?",
    )
      .bind(orgId)
      .all<{ id: string; userId: string; reason: string; previousRole: string }>();
    expect(rows.results).toEqual([
      { id: owed.ids[0], userId: promoted, reason: "scim-role-changed", previousRole: "admin" },
    ]);
  });
});
