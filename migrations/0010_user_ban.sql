CREATE TABLE `user_ban` (
	`user_id` text PRIMARY KEY NOT NULL,
	`reason` text NOT NULL,
	`banned_by` text NOT NULL,
	`banned_at` integer NOT NULL
);
