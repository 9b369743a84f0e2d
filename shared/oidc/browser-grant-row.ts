import { BROWSER_GRANT_ID_PREFIX } from "../contracts/oidc.ts";
import type { PresentedRefreshToken } from "../contracts/oidc-grants.ts";
import { storedTokenForm } from "./stored-token.ts";

/**
 * Which authorization grant a browser token rests on, so that revoking one
 * of the grant's refresh tokens cuts off exactly its access tokens (RFC 7009
 * §2.1), not the person's other grants to the same client, and so that every
 * use of one grant's family takes the same turn
 * (workers/token/src/oidc/grant-turns.ts).
 *
 * Better Auth keeps no grant row, but every refresh token row of one
 * authorization carries its `authorization_code_id` (the stored form of the
 * code, stored-token.ts), copied from row to row at each rotation
 * (handleRefreshTokenGrant passes `refreshToken.authorizationCodeId` on).
 * That is the grant's id: known from the code itself, from the presented
 * refresh token's row at every refresh, and from the revoked token's row at
 * revocation; none of them is the person's to change.
 */
export function browserGrantId(authorizationCodeId: string): string {
  return `${BROWSER_GRANT_ID_PREFIX}${authorizationCodeId}`;
}

/** The grant an authorization code opens, with no read: its id is the code's stored form. */
export async function codeGrantId(code: string): Promise<string> {
  return browserGrantId(await storedTokenForm(code));
}

/**
 * The row of a presented refresh token, by its stored form (the unique
 * index on `oidc_refresh_token.token`): one indexed read, the refresh
 * path's only one of ours. Undefined when no row holds it.
 */
export async function readRefreshTokenRow(db: D1Database, token: string): Promise<PresentedRefreshToken | undefined> {
  const row = await db
    .prepare(
      `SELECT client_id AS clientId, user_id AS userId, reference_id AS orgId, authorization_code_id AS codeId,
              revoked IS NOT NULL AS revoked, expires_at AS expiresAtMs
         FROM oidc_refresh_token WHERE token = ?1`,
    )
    .bind(await storedTokenForm(token))
    .first<{
      clientId: string;
      userId: string;
      orgId: string | null;
      codeId: string | null;
      revoked: number;
      expiresAtMs: number;
    }>();
  if (!row) return undefined;
  return {
    clientId: row.clientId,
    userId: row.userId,
    orgId: row.orgId,
    grantId: row.codeId ? browserGrantId(row.codeId) : null,
    revoked: row.revoked === 1,
    expiresAtMs: row.expiresAtMs,
  };
}

/**
 * A row as another Worker handed it over RPC: the shape is checked before
 * it is used, as every RPC argument is; anything else is no row.
 */
export function checkedRefreshTokenRow(value: unknown): PresentedRefreshToken | undefined {
  if (!value || typeof value !== "object") return undefined;
  const row = value as Record<string, unknown>;
  const nullableString = (v: unknown) => v === null || typeof v === "string";
  if (
    typeof row.clientId !== "string" ||
    typeof row.userId !== "string" ||
    !nullableString(row.orgId) ||
    !nullableString(row.grantId) ||
    typeof row.revoked !== "boolean" ||
    typeof row.expiresAtMs !== "number"
  ) {
    return undefined;
  }
  return {
    clientId: row.clientId,
    userId: row.userId,
    orgId: row.orgId as string | null,
    grantId: row.grantId as string | null,
    revoked: row.revoked,
    expiresAtMs: row.expiresAtMs,
  };
}
