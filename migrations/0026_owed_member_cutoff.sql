-- A member's cut-off an operator's change (removal, demotion) still owes:
-- written with the change, deleted once the revocation after it is recorded
-- in the org's Durable Object; a row left behind is finished by the change's
-- retry or the token Worker's cron.
CREATE TABLE `owed_member_cutoff` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`user_id` text NOT NULL,
	`reason` text NOT NULL,
	`previous_role` text NOT NULL,
	`created_at` integer NOT NULL
);
