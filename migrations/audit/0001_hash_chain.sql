CREATE TABLE `audit_chain_head` (
	`chain` text PRIMARY KEY NOT NULL,
	`seq` integer NOT NULL,
	`hash` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
DROP INDEX `audit_event_org_time_idx`;--> statement-breakpoint
ALTER TABLE `audit_event` ADD `chain` text DEFAULT 'platform' NOT NULL;--> statement-breakpoint
ALTER TABLE `audit_event` ADD `seq` integer;--> statement-breakpoint
ALTER TABLE `audit_event` ADD `prev_hash` text;--> statement-breakpoint
ALTER TABLE `audit_event` ADD `hash` text;--> statement-breakpoint
CREATE UNIQUE INDEX `audit_event_chain_seq_uq` ON `audit_event` (`chain`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_event_chain_time_idx` ON `audit_event` (`chain`,`occurred_at`);--> statement-breakpoint
CREATE INDEX `audit_event_subject_time_idx` ON `audit_event` (`subject`,`occurred_at`);--> statement-breakpoint
CREATE INDEX `audit_event_time_idx` ON `audit_event` (`occurred_at`);