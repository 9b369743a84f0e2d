CREATE TABLE `mcp_access_request` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`client_id` text NOT NULL,
	`server_name` text NOT NULL,
	`resource` text NOT NULL,
	`scopes` text NOT NULL,
	`tools` text NOT NULL,
	`on_behalf_of` text NOT NULL,
	`reason` text NOT NULL,
	`ttl_seconds` integer NOT NULL,
	`status` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`decided_by` text,
	`decided_at` integer,
	`decision_note` text,
	`grant_id` text
);
--> statement-breakpoint
CREATE INDEX `mcp_access_request_org_status_idx` ON `mcp_access_request` (`org_id`,`status`);--> statement-breakpoint
CREATE TABLE `mcp_grant` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`request_id` text,
	`client_id` text NOT NULL,
	`server_name` text NOT NULL,
	`resource` text NOT NULL,
	`scopes` text NOT NULL,
	`tools` text NOT NULL,
	`on_behalf_of` text NOT NULL,
	`status` text NOT NULL,
	`expires_at` integer NOT NULL,
	`delegation_grant_id` text,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer,
	`revoked_by` text
);
--> statement-breakpoint
CREATE INDEX `mcp_grant_lookup_idx` ON `mcp_grant` (`org_id`,`client_id`,`server_name`);--> statement-breakpoint
CREATE TABLE `mcp_server` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`name` text NOT NULL,
	`upstream_kind` text NOT NULL,
	`upstream` text NOT NULL,
	`resource` text NOT NULL,
	`scopes` text NOT NULL,
	`tools` text NOT NULL,
	`description` text NOT NULL,
	`owner` text NOT NULL,
	`status` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `mcp_server_org_name` ON `mcp_server` (`org_id`,`name`);--> statement-breakpoint
CREATE INDEX `mcp_server_name_idx` ON `mcp_server` (`name`);--> statement-breakpoint
CREATE TABLE `mcp_webhook` (
	`org_id` text PRIMARY KEY NOT NULL,
	`url` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
