/**
 * DELETE /orgs/{org} (platform operators only): an org deleted from the
 * admin API with the guarantees of a member's deletion through Better
 * Auth (workers/authn/src/revocation/org-deletion.ts):
 *
 * 1. an `org` cut-off recorded in the org's Durable Object before anything
 *    is deleted; if it cannot be, 503 `temporarily_unavailable` with
 *    `Retry-After`, and nothing is deleted;
 * 2. the delete Better Auth's organization plugin makes (members,
 *    invitations, the org) in one D1 batch with an `owed_org_cutoff` row
 *    (shared/revocation/owed-org-cutoffs.ts) for the cut-off after it, the
 *    org unset as every session's active one (no Better Auth request runs
 *    here to unset even the deleter's);
 * 3. that second cut-off (a token minted while the delete was in flight has
 *    an `iat` past the first), then the row cleared.
 *
 * If step 3 cannot be recorded the answer is still 200, with `cutoff:
 * "owed"`: the org is gone and every token issued before the delete began
 * is refused, so a 503 would only invite a retry that finds no org (404)
 * and records nothing; the token Worker's cron records the row instead
 * (admin/owed-org-cutoffs.ts, within one cron period of the object
 * answering). The row names no deleter, as nobody's retry answers from it.
 *
 * Why operators only: Better Auth lets only an org's owners delete it, from
 * a recently signed-in session (SESSION_FRESH_AGE_SECONDS); the admin API's
 * console sessions reach an org's admins too and are not held to that age,
 * so an org's own people keep Better Auth's path, whose checks they already
 * pass, and this route is the platform's (admin/authorize.ts keeps every
 * route outside `/orgs/{org}/…` from org admins: 403 `forbidden`).
 */
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Context } from "hono";
import { z } from "zod";
import { PLATFORM_ORG_ID } from "../../../../shared/contracts/tokens.ts";
import { organization } from "../../../../shared/db/auth-schema.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import {
  clearOwedOrgCutoffs,
  deleteOrgOwingRow,
  ORG_DELETED,
  type OwedOrgCutoff,
  owedOrgCutoff,
} from "../../../../shared/revocation/owed-org-cutoffs.ts";
import { orgSchemas } from "../openapi/schemas.ts";
import { recordOperatorRevocation } from "../revocations/operator-revoke.ts";
import { auditDetail } from "./audit.ts";
import type { AdminEnv } from "./types.ts";

/** Seconds an operator waits before retrying a deletion the org's object refused (RFC 9110 §10.2.3). */
const RETRY_AFTER_SECONDS = 5;

export const orgDeletedSchema = orgSchemas.view.extend({
  deleted: z.literal(true),
  /** The `org` cut-off after the delete: recorded, or owed to the token Worker's cron. */
  cutoff: z.enum(["recorded", "owed"]),
});

type OrgDeleted = z.infer<typeof orgDeletedSchema>;

/** The handler of `DELETE /orgs/{org}`. */
export async function deleteOrgHandler(c: Context<AdminEnv>): Promise<Response> {
  auditDetail(c, { action: "org.delete" });
  const orgId = c.req.param("org") ?? "";
  const org = await findOrg(c.env.DB, orgId);
  if (!org) {
    // As requireOrg: an unknown id starts no org's audit chain.
    auditDetail(c, { requested_org: orgId.slice(0, 128) });
    throw notFound();
  }
  auditDetail(c, { org_id: orgId });
  const waitUntil = (promise: Promise<unknown>) => c.executionCtx.waitUntil(promise);
  try {
    await recordOperatorRevocation(c.env, { orgId, kind: "org", value: orgId, reason: ORG_DELETED }, waitUntil);
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    throw new HttpError(
      "temporarily_unavailable",
      "the org's tokens could not be cut off; nothing was deleted, retry",
      {
        "Retry-After": String(RETRY_AFTER_SECONDS),
      },
    );
  }
  const owed = owedOrgCutoff(orgId, ORG_DELETED);
  // A concurrent deletion (another operator's, or an owner's through Better Auth) came
  // first: its own request owes and records the cut-off after it, so this one owes none.
  if (!(await deleteOrgOwingRow(c.env.DB, owed))) throw notFound();
  const cutoff = await settle(c.env, owed, waitUntil);
  auditDetail(c, { cutoff });
  const answer: OrgDeleted = {
    id: org.id,
    name: org.name,
    slug: org.slug,
    created_at: org.createdAt.toISOString(),
    deleted: true,
    cutoff,
  };
  return c.json(answer);
}

/**
 * The org, by its id: not orgExists's length cap, which spares the read for
 * ids no org of ours has; an org D1 holds under any id must be deletable.
 * PLATFORM_ORG_ID is never an organization.
 */
function findOrg(db: D1Database, orgId: string) {
  if (orgId === PLATFORM_ORG_ID) return Promise.resolve(undefined);
  return drizzle(db).select().from(organization).where(eq(organization.id, orgId)).get();
}

function notFound(): HttpError {
  return new HttpError("not_found", "no such organization");
}

/**
 * Records the cut-off after the delete, then clears this deletion's row
 * (committed before the cut-off, so covered by it). "owed" when the
 * object refused it: the row stays for the cron. A row recorded but not
 * cleared only means the cron records it once more (harmless).
 */
async function settle(
  env: TokenEnv,
  owed: OwedOrgCutoff,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<"recorded" | "owed"> {
  try {
    await recordOperatorRevocation(
      env,
      { orgId: owed.orgId, kind: "org", value: owed.orgId, reason: owed.reason },
      waitUntil,
    );
  } catch {
    // recordOperatorRevocation logged why.
    return "owed";
  }
  await clearOwedOrgCutoffs(env.DB, [owed.id]).catch((error: unknown) => {
    console.error("owed org cut-off recorded but not cleared", owed.orgId, error);
  });
  return "recorded";
}
