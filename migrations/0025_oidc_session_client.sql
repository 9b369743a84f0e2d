-- Which browser OpenID clients were issued a token naming each session
-- (`sid`), so a session's end reaches every one with a back-channel logout
-- URI (OIDC Back-Channel Logout 1.0), not only those holding a token Better
-- Auth stored. Rows go with their session or client.
CREATE TABLE `oidc_session_client` (
	`session_id` text NOT NULL,
	`client_id` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`session_id`, `client_id`),
	FOREIGN KEY (`session_id`) REFERENCES `session`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`client_id`) REFERENCES `oidc_client`(`client_id`) ON UPDATE no action ON DELETE cascade
);
