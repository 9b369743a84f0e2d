CREATE TABLE `delegation_grant` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`subject` text NOT NULL,
	`actor_client_id` text NOT NULL,
	`scopes` text NOT NULL,
	`audiences` text NOT NULL,
	`status` text NOT NULL,
	`expires_at` integer,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE INDEX `delegation_grant_lookup_idx` ON `delegation_grant` (`org_id`,`subject`,`actor_client_id`);--> statement-breakpoint
CREATE TABLE `host_invite` (
	`jti` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`labels` text NOT NULL,
	`scopes` text NOT NULL,
	`audiences` text NOT NULL,
	`expires_at` integer NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`redeemed_at` integer,
	`client_id` text
);
--> statement-breakpoint
CREATE INDEX `host_invite_org_idx` ON `host_invite` (`org_id`);--> statement-breakpoint
CREATE TABLE `oauth_client` (
	`client_id` text PRIMARY KEY NOT NULL,
	`org_id` text,
	`name` text NOT NULL,
	`type` text NOT NULL,
	`owner_user_id` text,
	`auth_method` text NOT NULL,
	`secret_hash` text,
	`jwks` text,
	`jwks_uri` text,
	`grant_types` text NOT NULL,
	`scopes` text NOT NULL,
	`audiences` text NOT NULL,
	`max_ttl_seconds` integer,
	`require_dpop` integer DEFAULT false NOT NULL,
	`resource_server` integer DEFAULT false NOT NULL,
	`status` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`last_used_at` integer
);
--> statement-breakpoint
CREATE INDEX `oauth_client_org_idx` ON `oauth_client` (`org_id`);--> statement-breakpoint
CREATE TABLE `org_token_policy` (
	`org_id` text PRIMARY KEY NOT NULL,
	`max_ttl_machine_seconds` integer,
	`max_ttl_agent_seconds` integer,
	`allowed_audiences` text,
	`scope_ceiling` text,
	`max_delegation_depth` integer DEFAULT 2 NOT NULL,
	`require_dpop_for_agents` integer DEFAULT false NOT NULL,
	`mints_per_minute_per_client` integer DEFAULT 600 NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `platform_operator` (
	`user_id` text PRIMARY KEY NOT NULL,
	`email` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `trusted_issuer` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`issuer` text NOT NULL,
	`jwks_uri` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `trusted_issuer_org_issuer_idx` ON `trusted_issuer` (`org_id`,`issuer`);--> statement-breakpoint
ALTER TABLE `signing_key` ADD `retired_from_signing_at` integer;