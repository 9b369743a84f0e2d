import { SCOPE } from "../../shared/contracts/scopes.ts";
import { GRANT_TYPE } from "../../shared/contracts/tokens.ts";

/**
 * The rows `operator bootstrap` writes, as SQL for `wrangler d1 execute`
 * (which takes no bind parameters, so every value is a checked literal).
 * Idempotent for the person: their Better Auth `user` row and their
 * `platform_operator` row are inserted only if absent; each run adds one
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

export function operatorBootstrapStatements(rows: OperatorBootstrapRows): string[] {
  const email = literal(rows.email);
  const now = String(Math.trunc(rows.now));
  const name = literal(rows.email.split("@")[0] ?? rows.email);
  return [
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
