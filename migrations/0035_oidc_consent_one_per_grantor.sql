-- One consent per person, client and org: Better Auth's consent endpoint
-- reads the row (client, person, org) and then updates it or inserts one,
-- two round trips with nothing between them, so two consents of one person
-- to one client posted at once (two tabs, two authorization requests) both
-- read nothing and both inserted: duplicate rows, which its authorize then
-- read one of, at random. Better Auth's table: its schema generator cannot
-- declare these, so they live here only, outside shared/db/auth-schema.ts
-- (as 0023's and 0034's); named in our style so none can collide with an
-- index Better Auth adds.
--
-- Rows already doubled by that race go first, or the unique index below
-- would fail the migration: of each (client, person, org) the row updated
-- last is kept, then the oldest (the one Better Auth's reads found first,
-- and the only one it ever updated; the others are the race's leftovers).
DELETE FROM `oidc_consent` WHERE `rowid` IN (
  SELECT `rowid` FROM (
    SELECT `rowid`, row_number() OVER (
      PARTITION BY `client_id`, ifnull(`user_id`, ''), ifnull(`reference_id`, '')
      ORDER BY `updated_at` DESC, `rowid` ASC
    ) AS `rank`
    FROM `oidc_consent`
  ) WHERE `rank` > 1
);--> statement-breakpoint
-- Null person or org (a consent given with no active org) counts as one value,
-- as Better Auth's reads match it, not as SQLite's distinct NULLs.
CREATE UNIQUE INDEX `oidc_consent_grantor_uidx` ON `oidc_consent` (`client_id`, ifnull(`user_id`, ''), ifnull(`reference_id`, ''));--> statement-breakpoint
-- The insert that loses that race becomes the update Better Auth would have
-- made had it read the winner's row (its consent endpoint: scopes, resources,
-- claims and updated_at replaced, id and created_at kept), and the insert
-- itself is dropped (RAISE(IGNORE)): the loser's request goes on to its
-- authorization code as the winner's does, instead of failing on the index.
-- D1 runs a statement, its trigger included, alone, so no third request can
-- come between the check and the update.
CREATE TRIGGER `oidc_consent_insert_is_update` BEFORE INSERT ON `oidc_consent`
WHEN EXISTS (
  SELECT 1 FROM `oidc_consent`
  WHERE `client_id` = NEW.`client_id`
    AND ifnull(`user_id`, '') = ifnull(NEW.`user_id`, '')
    AND ifnull(`reference_id`, '') = ifnull(NEW.`reference_id`, '')
)
BEGIN
  UPDATE `oidc_consent`
  SET `scopes` = NEW.`scopes`,
      `resources` = NEW.`resources`,
      `requested_user_info_claims` = NEW.`requested_user_info_claims`,
      `updated_at` = NEW.`updated_at`
  WHERE `client_id` = NEW.`client_id`
    AND ifnull(`user_id`, '') = ifnull(NEW.`user_id`, '')
    AND ifnull(`reference_id`, '') = ifnull(NEW.`reference_id`, '');
  SELECT RAISE(IGNORE);
END;
