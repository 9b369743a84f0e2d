CREATE TABLE `audit_event` (
	`id` text PRIMARY KEY NOT NULL,
	`occurred_at` integer NOT NULL,
	`org_id` text,
	`kind` text NOT NULL,
	`outcome` text NOT NULL,
	`subject` text,
	`actor` text,
	`client_id` text,
	`detail` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `audit_event_org_time_idx` ON `audit_event` (`org_id`,`occurred_at`);