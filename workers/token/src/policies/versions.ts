import { and, desc, eq, lt, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { policyVersion } from "../../../../shared/db/policy-schema.ts";
import type { PolicyTestCase } from "./test-cases.ts";

/**
 * The versions of an org's policy in D1 (`policy_version`,
 * shared/db/policy-schema.ts). A version is written once and never edited;
 * only its status and publication columns move (policies/publish.ts).
 */
export interface PolicyVersion {
  orgId: string;
  version: number;
  /** The validated document, as JSON (what the KV snapshot holds, byte for byte). */
  documentJson: string;
  tests: PolicyTestCase[];
  status: "draft" | "published" | "superseded";
  createdBy: string;
  createdAt: Date;
  publishedAt: Date | null;
  publishSeq: number | null;
}

type Row = typeof policyVersion.$inferSelect;

function fromRow(row: Row): PolicyVersion {
  return {
    orgId: row.orgId,
    version: row.version,
    documentJson: row.document,
    tests: JSON.parse(row.tests) as PolicyTestCase[],
    status: row.status,
    createdBy: row.createdBy,
    createdAt: row.createdAt,
    publishedAt: row.publishedAt,
    publishSeq: row.publishSeq,
  };
}

/**
 * Saves a new draft as the org's next version. The number is taken by the
 * INSERT itself (max + 1 in one statement, which D1 runs alone), so two
 * saves racing get two numbers, never the same one, and none is reused.
 */
export async function saveDraft(
  db: D1Database,
  draft: { orgId: string; documentJson: string; tests: PolicyTestCase[]; createdBy: string },
): Promise<PolicyVersion> {
  const row = await db
    .prepare(
      `INSERT INTO policy_version (org_id, version, document, tests, status, created_by, created_at)
       SELECT ?1, coalesce(max(version), 0) + 1, ?2, ?3, 'draft', ?4, ?5 FROM policy_version WHERE org_id = ?1
       RETURNING version`,
    )
    .bind(draft.orgId, draft.documentJson, JSON.stringify(draft.tests), draft.createdBy, Date.now())
    .first<{ version: number }>();
  if (!row) throw new Error("policy version insert returned no row");
  const saved = await findVersion(db, draft.orgId, row.version);
  if (!saved) throw new Error("policy version vanished after its insert");
  return saved;
}

export async function findVersion(db: D1Database, orgId: string, version: number): Promise<PolicyVersion | undefined> {
  const row = await drizzle(db)
    .select()
    .from(policyVersion)
    .where(and(eq(policyVersion.orgId, orgId), eq(policyVersion.version, version)))
    .get();
  return row ? fromRow(row) : undefined;
}

/** A version without its document and tests, for lists. */
export type PolicyVersionSummary = Omit<PolicyVersion, "documentJson" | "tests"> & { testCount: number };

/** Versions newest first, `before` a version number for the next page. */
export async function listVersions(
  db: D1Database,
  orgId: string,
  page: { limit: number; before?: number },
): Promise<PolicyVersionSummary[]> {
  const rows = await drizzle(db)
    .select({
      orgId: policyVersion.orgId,
      version: policyVersion.version,
      status: policyVersion.status,
      createdBy: policyVersion.createdBy,
      createdAt: policyVersion.createdAt,
      publishedAt: policyVersion.publishedAt,
      publishSeq: policyVersion.publishSeq,
      testCount: sql<number>`json_array_length(${policyVersion.tests})`,
    })
    .from(policyVersion)
    .where(
      page.before === undefined
        ? eq(policyVersion.orgId, orgId)
        : and(eq(policyVersion.orgId, orgId), lt(policyVersion.version, page.before)),
    )
    .orderBy(desc(policyVersion.version))
    .limit(page.limit)
    .all();
  return rows;
}

/**
 * Records that `version` became current at publish counter `sequence`
 * (OrgState.setPolicyVersion): it becomes `published`, the one published
 * before it `superseded`. Both statements run as one transaction and only
 * if no later publication has been recorded, so when two publishes race
 * the statuses end as the object decided, whatever order they reach D1 in.
 * Returns whether this publication's statuses were written.
 */
export async function recordPublication(
  db: D1Database,
  publication: { orgId: string; version: number; sequence: number; at: Date },
): Promise<boolean> {
  const { orgId, version, sequence, at } = publication;
  const newest = "(SELECT coalesce(max(publish_seq), 0) FROM policy_version WHERE org_id = ?1)";
  const [, published] = await db.batch([
    db
      .prepare(
        `UPDATE policy_version SET status = 'superseded'
         WHERE org_id = ?1 AND status = 'published' AND version <> ?2 AND ?3 > ${newest}`,
      )
      .bind(orgId, version, sequence),
    db
      .prepare(
        `UPDATE policy_version SET status = 'published', published_at = ?4, publish_seq = ?3
         WHERE org_id = ?1 AND version = ?2 AND ?3 > ${newest}`,
      )
      .bind(orgId, version, sequence, at.getTime()),
  ]);
  return (published?.meta.changes ?? 0) > 0;
}
