-- Rows written before hash chains existed (seq NULL) took the column's
-- default chain, PLATFORM_ORG_ID; name their org instead, so that queries by
-- org find them. They stay outside the chain itself (no seq, no hash): the
-- consumer chains only what it writes from now on (docs/audit.md).
UPDATE `audit_event` SET `chain` = `org_id` WHERE `seq` IS NULL AND `org_id` IS NOT NULL AND `org_id` <> '';
