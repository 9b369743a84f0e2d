-- An org's `org` cut-off its deletion still owes: written with the delete,
-- deleted once the revocation after it is recorded in the org's Durable
-- Object; a row left behind is finished by the delete's retry or the token
-- Worker's cron.
CREATE TABLE `owed_org_cutoff` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`reason` text NOT NULL,
	`created_at` integer NOT NULL
);
