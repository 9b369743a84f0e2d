-- The cron's prune (workers/token/src/maintenance/prune-expired.ts) now
-- also deletes expired sessions, verification values, pending invitations
-- and connect links and flows; each is found by a range on the column
-- indexed here, so a run reads the rows it deletes, not the table.
CREATE INDEX `vault_connect_link_expires_at_idx` ON `vault_connect_link` (`expires_at`);--> statement-breakpoint
CREATE INDEX `vault_connect_state_expires_at_idx` ON `vault_connect_state` (`expires_at`);--> statement-breakpoint
-- Better Auth's tables: its schema generator (npm run db:generate) cannot
-- declare these, so they live here only, outside shared/db/auth-schema.ts;
-- named in our style so none can collide with an index Better Auth adds.
-- verification's also serves Better Auth's own sweep of expired values
-- (`expires_at < now`), which read the whole table before.
CREATE INDEX `session_expires_at_idx` ON `session` (`expires_at`);--> statement-breakpoint
CREATE INDEX `verification_expires_at_idx` ON `verification` (`expires_at`);--> statement-breakpoint
-- Only pending invitations are pruned (a decided one is the org's record of
-- who invited whom), so the status leads.
CREATE INDEX `invitation_status_expires_at_idx` ON `invitation` (`status`, `expires_at`);
