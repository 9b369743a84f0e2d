-- The cron's prune (workers/token/src/maintenance/prune-expired.ts) finds
-- what it deletes by a range on one column per table; without an index on
-- it, every run read every row of the table.
--
-- session_org.not_after: the latest session expiry a mint for the pair read,
-- so no token minted under the row outlives it (workers/token/src/sessions/
-- bind-session.ts raises it). Rows already there get it here: a session
-- still in `session` its `expires_at` (which only ever moves later: a
-- refresh extends it, the absolute-timeout clamp writes back a limit no
-- earlier expiry passed), one gone or expired now (it mints nothing more;
-- its tokens, minted before now, are bounded by now plus the longest access
-- token lifetime, which the prune adds).
ALTER TABLE `session_org` ADD `not_after` integer;--> statement-breakpoint
CREATE INDEX `session_org_not_after_idx` ON `session_org` (`not_after`);--> statement-breakpoint
CREATE INDEX `sign_in_throttle_first_failure_idx` ON `sign_in_throttle` (`first_failure_at`);--> statement-breakpoint
UPDATE `session_org` SET `not_after` = max(
  coalesce((SELECT `expires_at` FROM `session` WHERE `session`.`id` = `session_org`.`session_id`), 0),
  cast(unixepoch('subsecond') * 1000 as integer)
);--> statement-breakpoint
-- Better Auth's tables: its schema generator (npm run db:generate) cannot
-- declare these, so they live here only, outside shared/db/auth-schema.ts;
-- named in our style so none can collide with an index Better Auth adds.
CREATE INDEX `oidc_access_token_expires_at_idx` ON `oidc_access_token` (`expires_at`);--> statement-breakpoint
CREATE INDEX `oidc_refresh_token_expires_at_idx` ON `oidc_refresh_token` (`expires_at`);--> statement-breakpoint
CREATE INDEX `oidc_client_assertion_expires_at_idx` ON `oidc_client_assertion` (`expires_at`);
