-- A browser grant's `grant` cut-off still owed: written by the token Worker
-- from the refresh token row it read, before Better Auth revokes the token or
-- deletes its family; deleted once the revocation is recorded in the org's
-- Durable Object. A row left behind is recorded by a retry presenting the same
-- token (found by `presented`, its stored form) or by the token Worker's cron.
CREATE TABLE `owed_grant_cutoff` (
	`grant_id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`client_id` text NOT NULL,
	`user_id` text NOT NULL,
	`presented` text NOT NULL,
	`reason` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `owed_grant_cutoff_presented_idx` ON `owed_grant_cutoff` (`presented`);