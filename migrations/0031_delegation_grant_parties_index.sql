-- The admin API's delegation grants filtered by both subject and actor
-- (GET /orgs/{org}/delegation-grants?subject=&actor_client_id=) read the
-- pair's rows through delegation_grant_lookup_idx and sorted them in a
-- temporary B-tree for (created_at, id). The same columns, then created_at
-- and id, give that page its order, and still serve the live-grant read of
-- every acting token exchange (org, subject, actor), so this index replaces
-- the old one rather than adding a write to every grant (checked with
-- EXPLAIN QUERY PLAN in test/token/admin-list-query-plans.test.ts).
CREATE INDEX `delegation_grant_parties_created_idx` ON `delegation_grant` (`org_id`,`subject`,`actor_client_id`,`created_at`,`id`);--> statement-breakpoint
DROP INDEX `delegation_grant_lookup_idx`;
