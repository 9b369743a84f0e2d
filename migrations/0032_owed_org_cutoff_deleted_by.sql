-- An org deletion's owed cut-off names who deleted the org and keeps the
-- org as the deletion's 200 shows it: the deleter's signed-in retry after a
-- 503 records the cut-off and is answered that 200 (the org is gone, so
-- Better Auth's own answer would be 400 USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION),
-- and nobody else's request touches the row or learns that it exists.
-- Rows from before have neither; the cron records them as before.
ALTER TABLE `owed_org_cutoff` ADD `deleted_by` text;--> statement-breakpoint
ALTER TABLE `owed_org_cutoff` ADD `deleted_org` text;
