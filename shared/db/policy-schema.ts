/**
 * Versioned authorization policies per org (the lifecycle in
 * workers/token/src/policies/). A version is immutable once saved: its
 * document and its test cases never change, so the KV snapshot of a
 * published version (KV_KEY.policy) is immutable too. Which version is
 * current is decided by the org's Durable Object (OrgState); the statuses
 * here record it for operators.
 */
import { sql } from "drizzle-orm";
import { integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const policyVersion = sqliteTable(
  "policy_version",
  {
    orgId: text("org_id").notNull(),
    /** 1, 2, 3, … per org, assigned by the insert itself (never reused). */
    version: integer("version").notNull(),
    /** The policy document (shared/policy/types.ts), JSON, as validated. */
    document: text("document").notNull(),
    /** Its test cases (workers/token/src/policies/test-cases.ts), JSON. */
    tests: text("tests").notNull(),
    /** `draft` until first published; `superseded` once another version replaced it. */
    status: text("status", { enum: ["draft", "published", "superseded"] }).notNull(),
    /** The operator's subject who saved it. */
    createdBy: text("created_by").notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    /** When it last became current (publish or rollback). */
    publishedAt: integer("published_at", { mode: "timestamp_ms" }),
    /**
     * The org's publish counter (OrgState) when it last became current.
     * Statuses are written after the object has switched; two publishes
     * racing may reach D1 in either order, and the counter lets only the
     * later one's statuses stand.
     */
    publishSeq: integer("publish_seq"),
  },
  (table) => [
    primaryKey({ columns: [table.orgId, table.version] }),
    uniqueIndex("policy_version_one_published").on(table.orgId).where(sql`status = 'published'`),
  ],
);
