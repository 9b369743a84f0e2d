CREATE TABLE `oidc_client_org` (
	`client_id` text NOT NULL,
	`org_id` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`client_id`, `org_id`)
);
--> statement-breakpoint
-- What the provider's own rows say about orgs clients were authorized for before this table existed.
INSERT OR IGNORE INTO `oidc_client_org` (`client_id`, `org_id`, `created_at`)
SELECT `client_id`, `reference_id`, CAST(strftime('%s', 'now') AS INTEGER) * 1000 FROM `oidc_consent` WHERE `reference_id` IS NOT NULL
UNION SELECT `client_id`, `reference_id`, CAST(strftime('%s', 'now') AS INTEGER) * 1000 FROM `oidc_refresh_token` WHERE `reference_id` IS NOT NULL
UNION SELECT `client_id`, `reference_id`, CAST(strftime('%s', 'now') AS INTEGER) * 1000 FROM `oidc_access_token` WHERE `reference_id` IS NOT NULL;
