-- A directory's addresses are stored verified from 78bad7e on
-- (workers/authn/src/scim/user-store.ts says why): stored unverified, the
-- person could never sign in through the org's SSO. This verifies the
-- addresses provisioned before it, on the same terms: the address is in a
-- verified domain of an SSO provider of the directory's org (the provider's
-- `domain`, comma-separated, or a subdomain of one, as
-- sso/provider-domain.ts matches it), and the account was never taken up
-- (no `account` row: no password set by a reset, no identity linked), so it
-- is as the directory made it. An account its owner adopted is left as it
-- is: it may be one a directory made under the owner's address before
-- directories were held to their domains (58b892d) and renamed since.
UPDATE `user`
SET `email_verified` = 1, `updated_at` = CAST(strftime('%s', 'now') AS INTEGER) * 1000
WHERE `email_verified` = 0
  AND NOT EXISTS (SELECT 1 FROM `account` WHERE `account`.`user_id` = `user`.`id`)
  AND EXISTS (
    SELECT 1
    FROM `scim_user` AS su
    JOIN `sso_provider` AS p ON p.`organization_id` = su.`org_id` AND p.`domain_verified` = 1
    JOIN json_each('["' || replace(replace(lower(p.`domain`), ' ', ''), ',', '","') || '"]') AS d
    WHERE su.`user_id` = `user`.`id`
      AND d.`value` <> ''
      AND (
        lower(substr(`user`.`email`, instr(`user`.`email`, '@') + 1)) = d.`value`
        OR substr(lower(substr(`user`.`email`, instr(`user`.`email`, '@') + 1)), -length(d.`value`) - 1) = '.' || d.`value`
      )
  );
