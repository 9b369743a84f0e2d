// A SCIM Group write owes its second role cut-off from the write on (D1
// `owed_member_cutoff`, scim/roles.ts `oweChangedRoles`). The directory's
// retry of a write that answered 503 after it finds nothing left to change
// (or the Group gone); it used to answer 200 (or 404) while the row waited
// for the token Worker's cron. Now every Group write first records what the
// org's Group writes still owe (`settleOwedRoles`), or is 503.
//
// No real request fails only the cut-off after the write (both go to the
// same object for the same person), so the state such a 503 leaves is
// written here with the write's own statements: the Group changed, the role
// projected, and `oweChangedRoles`'s row, in one batch. The refusal is the
// org's Durable Object's own: it records values of at most 256 characters
// (workers/org-state/src/revocation-recording.ts), so a person whose id is longer
// cannot be cut off.
import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { oweChangedRoles } from "../../workers/authn/src/scim/roles.ts";
import { inFlightTokenRevoked, unrecordableId } from "../support/runtime/owed-cutoffs.ts";
import {
  directoryAdmin,
  expectUnavailable,
  GROUP_SCHEMA,
  NOT_RECORDED,
  owedRows,
  PATCH_SCHEMA,
  scim,
  scimError,
  scimOrg,
} from "./scim-helpers.ts";

/**
 * What a Group write that took the admin out (`deleteGroup`: the Group
 * itself went) leaves when its second cut-off was not recorded: the write,
 * the projection to `member`, and the owed row, in one batch.
 */
async function leftOwed(orgId: string, userId: string, groupId: string, deleteGroup = false) {
  const owed = oweChangedRoles(drizzle(env.DB), orgId, [{ userId, role: "admin" }]);
  const write = deleteGroup
    ? env.DB.prepare("DELETE FROM scim_group WHERE id = ?").bind(groupId)
    : env.DB.prepare("DELETE FROM scim_group_member WHERE group_id = ?").bind(groupId);
  await env.DB.batch([
    write,
    env.DB.prepare("UPDATE member SET role = 'member' WHERE organization_id = ? AND user_id = ?").bind(orgId, userId),
    env.DB.prepare(owed.statement.toSQL().sql).bind(...owed.statement.toSQL().params),
  ]);
}

const emptyMembers = { schemas: [PATCH_SCHEMA], Operations: [{ op: "replace", path: "members", value: [] }] };

describe("a SCIM Group write retried after its second cut-off was not recorded", { timeout: 30_000 }, () => {
  it("records the cut-off before its 200, though it finds nothing left to change", async () => {
    const { orgId, token } = await scimOrg();
    const { userId, groupId } = await directoryAdmin(orgId);
    await leftOwed(orgId, userId, groupId);
    expect(await inFlightTokenRevoked(orgId, userId)).toBe(false);

    // The in-flight token is minted as the retry begins, not a second before the check (as in 3c01998).
    const retrying = Date.now();
    const retried = await scim("PATCH", `/Groups/${groupId}`, token, emptyMembers);
    expect(retried.status).toBe(200);
    expect(await retried.json()).toMatchObject({ id: groupId, members: [] });
    expect(await inFlightTokenRevoked(orgId, userId, retrying)).toBe(true);
    expect(await owedRows(orgId)).toEqual([]);
  });

  it("a retried DELETE of the Group that is gone records it before its 404", async () => {
    const { orgId, token } = await scimOrg();
    const { userId, groupId } = await directoryAdmin(orgId);
    await leftOwed(orgId, userId, groupId, true);

    const retrying = Date.now();
    const retried = await scim("DELETE", `/Groups/${groupId}`, token);
    expect(retried.status).toBe(404);
    expect(await retried.json()).toEqual(scimError(404, undefined, "no such Group"));
    expect(await inFlightTokenRevoked(orgId, userId, retrying)).toBe(true);
    expect(await owedRows(orgId)).toEqual([]);
  });

  it("any Group write of the org records it first, for a person it no longer names", async () => {
    const { orgId, token } = await scimOrg();
    const { userId, groupId } = await directoryAdmin(orgId);
    await leftOwed(orgId, userId, groupId);

    const writing = Date.now();
    const other = await scim("POST", "/Groups", token, { schemas: [GROUP_SCHEMA], displayName: "Engineering" });
    expect(other.status).toBe(201);
    expect(await inFlightTokenRevoked(orgId, userId, writing)).toBe(true);
    expect(await owedRows(orgId)).toEqual([]);
  });

  it("is 503 while the org's object still refuses it, and the row stays", async () => {
    const { orgId, token } = await scimOrg();
    const { userId, groupId } = await directoryAdmin(orgId, unrecordableId());
    await leftOwed(orgId, userId, groupId);

    const retried = await scim("PATCH", `/Groups/${groupId}`, token, emptyMembers);
    await expectUnavailable(retried, NOT_RECORDED);
    expect(await owedRows(orgId)).toEqual([userId]);
  });

  it("a malformed body is still the directory's 400: it changes nothing", async () => {
    const { orgId, token } = await scimOrg();
    const { userId, groupId } = await directoryAdmin(orgId, unrecordableId());
    await leftOwed(orgId, userId, groupId);

    const malformed = await scim("PATCH", `/Groups/${groupId}`, token, { schemas: [PATCH_SCHEMA] });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual(scimError(400, "invalidSyntax", "Operations must be a non-empty list"));
    expect(await owedRows(orgId)).toEqual([userId]);
  });
});
