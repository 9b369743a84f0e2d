-- An org's deletion unsets it as the active org of every session that names
-- it, in the delete's own batch (shared/revocation/owed-org-cutoffs.ts
-- deleteOrgOwingRow): this index makes that update read those sessions, not
-- the whole table. Better Auth's table: its schema generator cannot declare
-- it, so it lives here only, outside shared/db/auth-schema.ts (as 0023's).
CREATE INDEX `session_active_org_idx` ON `session` (`active_organization_id`);
