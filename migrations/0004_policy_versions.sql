CREATE TABLE `policy_version` (
	`org_id` text NOT NULL,
	`version` integer NOT NULL,
	`document` text NOT NULL,
	`tests` text NOT NULL,
	`status` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`published_at` integer,
	`publish_seq` integer,
	PRIMARY KEY(`org_id`, `version`)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `policy_version_one_published` ON `policy_version` (`org_id`) WHERE status = 'published';