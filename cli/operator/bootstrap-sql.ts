import { SCOPE } from "../../shared/contracts/scopes.ts";
import { GRANT_TYPE } from "../../shared/contracts/tokens.ts";

/**
 * The rows `operator bootstrap` writes, as SQL for `wrangler d1 execute`
 * (which takes no bind parameters, so every value is a checked literal).
 * Idempotent for the person: their Better Auth `user` row and their
 * `platform_operator` row are inserted only if absent (an unconfirmed
 * existing account is claimed first: claimUnconfirmedAccount); each run adds one
 * new operator client, so running it again is how a locked-out operator
 * gets fresh credentials (anyone who can write the D1 database can).
 */
export interface OperatorBootstrapRows {
  email: string;
  /** Used only if the person has no `user` row yet. */
  userId: string;
  clientId: string;
  /** shared/crypto/secret-hash.ts output. */
  secretHash: string;
  /** adminAudience(issuer): the operator client's one audience. */
  audience: string;
  /** RFC 9449 §5.2 `dpop_bound_access_tokens`: the client's tokens must be DPoP-bound (default: no). */
  requireDpop?: boolean;
  now: number;
}

/** SQLite string literal: quotes doubled. The values are also checked before they get here. */
function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * An existing account under the operator's address whose address was never
 * confirmed may be someone else's: anyone can sign up with an address they
 * do not own. Made an operator as it was, its creator's password (and any
 * passkey, second factor, linked identity or session) came with the role
 * the moment the operator confirmed the address, as they naturally would
 * (pre-account hijacking). Whoever runs this command asserts the address is
 * theirs, so it claims such an account first, the way a password reset of an
 * unconfirmed account does (workers/authn/src/security/unproven-account-reset.ts):
 * everything set up on it goes, and the operator signs in after a password
 * reset. A confirmed account, e.g. the operator's own on a second run, keeps
 * everything. The sessions are deleted without the authn Worker's revocation
 * hooks (this runs before any Worker is reachable); such an account holds one
 * only where its address was never checked (an SSO IdP's just-in-time
 * account, a local run), and tokens minted from it expire on their own.
 */
function claimUnconfirmedAccount(email: string, now: string): string[] {
  const unconfirmed = `SELECT id FROM "user" WHERE email = ${email} AND email_verified = 0`;
  return [
    `DELETE FROM session WHERE user_id IN (${unconfirmed})`,
    `DELETE FROM account WHERE user_id IN (${unconfirmed})`,
    `DELETE FROM passkey WHERE user_id IN (${unconfirmed})`,
    `DELETE FROM two_factor WHERE user_id IN (${unconfirmed})`,
    `DELETE FROM apikey WHERE config_id = 'user' AND reference_id IN (${unconfirmed})`,
    `UPDATE oidc_refresh_token SET revoked = ${now} WHERE revoked IS NULL AND user_id IN (${unconfirmed})`,
    `DELETE FROM oidc_access_token WHERE user_id IN (${unconfirmed})`,
    // A client the creator allowed would skip the consent page for the operator.
    `DELETE FROM oidc_consent WHERE user_id IN (${unconfirmed})`,
    `UPDATE "user" SET two_factor_enabled = 0, updated_at = ${now} WHERE email = ${email} AND email_verified = 0`,
  ];
}

export function operatorBootstrapStatements(rows: OperatorBootstrapRows): string[] {
  const email = literal(rows.email);
  const now = String(Math.trunc(rows.now));
  const name = literal(rows.email.split("@")[0] ?? rows.email);
  return [
    ...claimUnconfirmedAccount(email, now),
    // Better Auth's user table (shared/db/auth-schema.ts); email is unique.
    `INSERT INTO "user" (id, name, email, email_verified, created_at, updated_at) VALUES (${literal(rows.userId)}, ${name}, ${email}, 0, ${now}, ${now}) ON CONFLICT (email) DO NOTHING`,
    `INSERT INTO platform_operator (user_id, email, created_at) SELECT id, email, ${now} FROM "user" WHERE email = ${email} ON CONFLICT (user_id) DO NOTHING`,
    // A platform operator client (docs: org_id NULL, scope admin, audience
    // the admin API), client_secret_basic, owned by the person.
    `INSERT INTO oauth_client (client_id, org_id, name, type, owner_user_id, auth_method, secret_hash, grant_types, scopes, audiences, require_dpop, resource_server, status, created_at, updated_at) SELECT ${literal(rows.clientId)}, NULL, ${literal(`platform operator ${rows.email}`)}, 'service', id, 'client_secret_basic', ${literal(rows.secretHash)}, ${literal(GRANT_TYPE.clientCredentials)}, ${literal(SCOPE.admin)}, ${literal(rows.audience)}, ${rows.requireDpop ? 1 : 0}, 0, 'active', ${now}, ${now} FROM "user" WHERE email = ${email}`,
  ];
}

/** A conservative address check (no quotes, spaces or `;`), lowercased as Better Auth stores it. */
export function normaliseEmail(value: string): string | undefined {
  const email = value.trim().toLowerCase();
  if (email.length > 254) return undefined;
  return /^[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(email) ? email : undefined;
}
