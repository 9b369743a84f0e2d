-- The admin API's paged lists (workers/token/src/admin/page.ts) read an
-- org's rows in (created_at, id) order from a position (a cursor): each
-- list's filter, then created_at and id, is an index here, so a page seeks
-- to its position and reads its rows in order instead of sorting the org's
-- rows (checked with EXPLAIN QUERY PLAN in
-- test/token/admin-list-query-plans.test.ts). An index whose columns a new
-- one starts with (org_id alone; org_id and status) is dropped: the new one
-- serves its reads, and a write no longer updates both.
DROP INDEX `host_invite_org_idx`;--> statement-breakpoint
CREATE INDEX `host_invite_org_created_idx` ON `host_invite` (`org_id`,`created_at`,`jti`);--> statement-breakpoint
DROP INDEX `oauth_client_org_idx`;--> statement-breakpoint
CREATE INDEX `oauth_client_org_created_idx` ON `oauth_client` (`org_id`,`created_at`,`client_id`);--> statement-breakpoint
DROP INDEX `mcp_access_request_org_status_idx`;--> statement-breakpoint
CREATE INDEX `mcp_access_request_org_created_idx` ON `mcp_access_request` (`org_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `mcp_access_request_org_status_created_idx` ON `mcp_access_request` (`org_id`,`status`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `mcp_access_request_client_created_idx` ON `mcp_access_request` (`org_id`,`client_id`,`created_at`,`id`);--> statement-breakpoint
DROP INDEX `scim_token_org`;--> statement-breakpoint
CREATE INDEX `scim_token_org_created` ON `scim_token` (`org_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `delegation_grant_org_created_idx` ON `delegation_grant` (`org_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `delegation_grant_subject_created_idx` ON `delegation_grant` (`org_id`,`subject`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `delegation_grant_actor_created_idx` ON `delegation_grant` (`org_id`,`actor_client_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `mcp_grant_org_created_idx` ON `mcp_grant` (`org_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `mcp_grant_org_status_created_idx` ON `mcp_grant` (`org_id`,`status`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `mcp_grant_client_created_idx` ON `mcp_grant` (`org_id`,`client_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `vault_connection_org_created` ON `vault_connection` (`org_id`,`created_at`,`id`);