CREATE TABLE `vault_connect_link` (
	`link_hash` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`provider_id` text NOT NULL,
	`owner_kind` text NOT NULL,
	`owner_id` text NOT NULL,
	`started_by` text NOT NULL,
	`expires_at` integer NOT NULL,
	`created_at` integer NOT NULL
);
