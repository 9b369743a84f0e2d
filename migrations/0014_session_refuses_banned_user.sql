-- A banned person starts no session, by any sign-in method and whatever
-- raced the ban: the session hook's ban read (workers/authn/src/auth/
-- session-start.ts) answers 403 USER_BANNED, and this makes the rule hold
-- in the database itself, for a sign-in that read the ban table just before
-- the ban was written and inserts its session after the ban's sweep of the
-- person's sessions (workers/token/src/admin/users.ts, scim/deprovision.ts).
CREATE TRIGGER `session_refuses_banned_user` BEFORE INSERT ON `session`
WHEN EXISTS (SELECT 1 FROM `user_ban` WHERE `user_id` = NEW.`user_id`)
BEGIN
  SELECT RAISE(ABORT, 'USER_BANNED');
END;
