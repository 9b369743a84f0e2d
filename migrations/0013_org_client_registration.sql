CREATE TABLE `org_client_registration` (
	`org_id` text PRIMARY KEY NOT NULL,
	`dynamic_registration` integer DEFAULT false NOT NULL,
	`updated_by` text NOT NULL,
	`updated_at` integer NOT NULL
);
