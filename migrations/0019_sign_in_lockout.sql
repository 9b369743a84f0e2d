CREATE TABLE `sign_in_lockout` (
	`account_key` text PRIMARY KEY NOT NULL,
	`consecutive_failures` integer NOT NULL,
	`last_failure_at` integer NOT NULL
);
