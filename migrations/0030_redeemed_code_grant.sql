-- A browser grant redeemed without a refresh token (no offline_access): Better
-- Auth keeps no row of it naming its org, so a replay of its code (RFC 6749
-- §4.1.2) could cut nothing off. Written by the authn Worker from the access
-- token it issued; read by the code's replay to record the grant's cut-off;
-- pruned by the token Worker's cron once that access token has expired.
CREATE TABLE `redeemed_code_grant` (
	`grant_id` text PRIMARY KEY NOT NULL,
	`client_id` text NOT NULL,
	`org_id` text NOT NULL,
	`user_id` text NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `redeemed_code_grant_expires_at_idx` ON `redeemed_code_grant` (`expires_at`);--> statement-breakpoint
-- The owed grant cut-off cron's share: oldest first, older than a minute.
CREATE INDEX `owed_grant_cutoff_created_at_idx` ON `owed_grant_cutoff` (`created_at`,`grant_id`);