CREATE TABLE `session_org` (
	`session_id` text NOT NULL,
	`org_id` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`session_id`, `org_id`)
);
