// What an operator's `DELETE /admin/v1/orgs/{org}` answered `cutoff:
// "owed"` leaves (workers/token/src/admin/org-deletion.ts), and what follows
// it: the org gone, a row (D1 `owed_org_cutoff`) naming no deleter, a retry
// that finds no org and records nothing, and the cron recording the cut-off.
//
// That answer itself is provoked by no real part, so it is not asserted
// here: it needs the org's Durable Object to take the first `org` cut-off
// and refuse the second moments later, and the two are the same call (kind
// `org`, value and org the path's id). The object's refusals depend on the
// call and on its own storage only (a value of 1..256 characters naming its
// own org: workers/org-state/src/revocation-recording.ts), no call of its
// leaves that storage refusing such a cut-off, and between the two the
// route writes only D1, which the object never reads. Its storage is the
// org-state Worker's, out of this project's reach (runInDurableObject needs
// an object of the Worker under test), so only an object unreachable for a
// moment does it, which nothing real brings about on cue. An org whose id
// the object refuses (test/support/runtime/owed-cutoffs.ts; org ids are
// generated, so no real org has one) is refused the first cut-off too: 503
// and nothing deleted (admin-org-delete.test.ts).
//
// So the state is made by the route's own batch (deleteOrgOwingRow, the
// statements it runs). The first cut-off is left out: recorded in the same
// second as the checks below, it would already refuse the tokens whose
// refusal shows that the cron recorded the second.
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import type { RevocableClaims } from "../../shared/contracts/revocation.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";
import { deleteOrgOwingRow, ORG_DELETED, owedOrgCutoff } from "../../shared/revocation/owed-org-cutoffs.ts";
import { inFlightTokenRevoked } from "../support/runtime/owed-cutoffs.ts";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { clientToken, registerTestClient } from "./clients-fixtures.ts";
import { cronReaching } from "./cron-fixture.ts";
import { deleteOrg, oidc } from "./oidc-fixture.ts";

let operator: string;
beforeAll(async () => {
  operator = await adminToken();
});

interface OwedRow {
  id: string;
  reason: string;
  deleted_by: string | null;
  deleted_org: string | null;
  created_at: number;
}

async function owedRows(orgId: string): Promise<OwedRow[]> {
  const rows = await env.DB.prepare(
    "SELECT id, reason, deleted_by, deleted_org, created_at FROM owed_org_cutoff WHERE org_id = ?",
  )
    .bind(orgId)
    .all<OwedRow>();
  return rows.results;
}

async function orgRows(orgId: string): Promise<{ org: number; members: number }> {
  const row = await env.DB.prepare(
    `SELECT (SELECT count(*) FROM organization WHERE id = ?1) AS org,
            (SELECT count(*) FROM member WHERE organization_id = ?1) AS members`,
  )
    .bind(orgId)
    .first<{ org: number; members: number }>();
  return row ?? { org: -1, members: -1 };
}

async function activeOrgOf(sessionId: string): Promise<string | null | undefined> {
  const row = await env.DB.prepare("SELECT active_organization_id AS orgId FROM session WHERE id = ?")
    .bind(sessionId)
    .first<{ orgId: string | null }>();
  return row?.orgId;
}

/** The org's `org` revocation events (its object's log). */
async function orgRevocations(orgId: string): Promise<number> {
  const changes = await env.ORG_STATE.getByName(orgStateName(orgId)).changesSince(0);
  if (changes.kind !== "changes") throw new Error(`expected the org's events, got ${changes.kind}`);
  return changes.events.filter((event) => event.kind === "org").length;
}

/** Whether the org's object refuses this token now (OrgState.isRevoked). */
function isRevoked(token: string): Promise<boolean> {
  const claims = decodeJwt(token) as unknown as RevocableClaims;
  return env.ORG_STATE.getByName(orgStateName(claims.org_id)).isRevoked(claims);
}

/** Better Auth's answer to a signed-in person for an org that is gone or was never theirs. */
const NOT_A_MEMBER = "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION";

describe("admin API: DELETE /orgs/{org} whose cut-off after the delete is owed", () => {
  it("leaves the org gone and a row naming no deleter; a retry is 404; the cron records it and clears the row", async () => {
    const owner = await oidc.signUp("Owed owner");
    const { orgId } = owner;
    const token = await clientToken(await registerTestClient({ orgId }));

    // The route's batch, as it ran before the cut-off after it was refused.
    expect(await deleteOrgOwingRow(env.DB, owedOrgCutoff(orgId, ORG_DELETED))).toBe(true);
    expect(await orgRows(orgId)).toEqual({ org: 0, members: 0 });
    expect(await activeOrgOf(owner.sessionId)).toBeNull();
    const rows = await owedRows(orgId);
    expect(rows).toEqual([
      {
        id: expect.any(String),
        reason: ORG_DELETED,
        deleted_by: null,
        deleted_org: null,
        created_at: expect.any(Number),
      },
    ]);
    const [row] = rows as [OwedRow];

    // An operator's retry finds no org, as the answer says: 404, nothing recorded, the row left to the cron.
    await expectHttpError(await adminRequest("DELETE", `/orgs/${orgId}`, { token: operator }), 404, "not_found");
    // The row names no deleter: the former owner's own deletion through Better Auth is not answered from it.
    const byOwner = await deleteOrg(owner.cookie, orgId);
    expect(byOwner.status).toBe(400);
    expect(((await byOwner.json()) as { code: string }).code).toBe(NOT_A_MEMBER);
    expect(await orgRevocations(orgId)).toBe(0);
    expect(await owedRows(orgId)).toEqual([row]);
    expect(await isRevoked(token)).toBe(false);
    expect(await inFlightTokenRevoked(orgId)).toBe(false);

    await cronReaching(row);

    expect(await orgRevocations(orgId)).toBe(1);
    expect(await isRevoked(token)).toBe(true);
    expect(await inFlightTokenRevoked(orgId, undefined, row.created_at)).toBe(true);
    expect(await owedRows(orgId)).toEqual([]);
  });
});
