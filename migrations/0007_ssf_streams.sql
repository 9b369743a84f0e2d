CREATE TABLE `ssf_stream` (
	`stream_id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`created_by` text NOT NULL,
	`audience` text NOT NULL,
	`events_requested` text NOT NULL,
	`events_delivered` text NOT NULL,
	`delivery_method` text NOT NULL,
	`endpoint_url` text,
	`authorization_sealed` text,
	`description` text,
	`status` text NOT NULL,
	`status_reason` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `ssf_stream_org` ON `ssf_stream` (`org_id`);--> statement-breakpoint
CREATE TABLE `ssf_stream_exclusion` (
	`stream_id` text NOT NULL,
	`subject` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`stream_id`, `subject`)
);
