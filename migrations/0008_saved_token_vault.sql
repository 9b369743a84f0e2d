CREATE TABLE `vault_connect_state` (
	`state_hash` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`provider_id` text NOT NULL,
	`owner_kind` text NOT NULL,
	`owner_id` text NOT NULL,
	`bound_to` text NOT NULL,
	`code_verifier_sealed` text NOT NULL,
	`expires_at` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `vault_connection` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`provider_id` text NOT NULL,
	`resource` text NOT NULL,
	`owner_kind` text NOT NULL,
	`owner_id` text NOT NULL,
	`token_endpoint` text NOT NULL,
	`client_id` text NOT NULL,
	`access_token_sealed` text NOT NULL,
	`refresh_token_sealed` text,
	`token_type` text NOT NULL,
	`expires_at` integer,
	`scopes` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`last_used_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `vault_connection_owner` ON `vault_connection` (`org_id`,`provider_id`,`owner_id`);--> statement-breakpoint
CREATE INDEX `vault_connection_resource` ON `vault_connection` (`org_id`,`resource`);--> statement-breakpoint
CREATE TABLE `vault_connection_agent` (
	`connection_id` text NOT NULL,
	`client_id` text NOT NULL,
	`org_id` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`connection_id`, `client_id`)
);
--> statement-breakpoint
CREATE TABLE `vault_org_key` (
	`org_id` text PRIMARY KEY NOT NULL,
	`wrapped_key` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `vault_provider` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`name` text NOT NULL,
	`resource` text NOT NULL,
	`authorization_endpoint` text NOT NULL,
	`token_endpoint` text NOT NULL,
	`client_id` text NOT NULL,
	`client_secret_sealed` text,
	`scopes` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `vault_provider_org_name` ON `vault_provider` (`org_id`,`name`);