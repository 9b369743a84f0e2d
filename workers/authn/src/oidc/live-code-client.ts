import { storedTokenForm } from "./stored-token.ts";

/**
 * The client a live (issued, not yet redeemed, unexpired) authorization code
 * was issued to, from the `verification` row Better Auth's oauth-provider
 * keeps for it: `identifier` is the code's stored form (its default
 * `storeTokens: "hashed"`, oidc/stored-token.ts), `value` the JSON of the
 * authorization request, whose `query.client_id` names the client. Better
 * Auth spends that row before it compares the client (RFC 6749 §4.1.3), so
 * this is read first (oidc/code-client-authentication.ts). Undefined when no
 * live row holds the code or its value cannot be read: Better Auth then
 * answers for it as before.
 */
export async function liveCodeClient(db: D1Database, code: string, now = Date.now()): Promise<string | undefined> {
  const row = await db
    .prepare("SELECT value FROM verification WHERE identifier = ?1 AND expires_at > ?2 LIMIT 1")
    .bind(await storedTokenForm(code), now)
    .first<{ value: string }>();
  if (!row) return undefined;
  try {
    const value = JSON.parse(row.value) as { type?: unknown; query?: { client_id?: unknown } } | null;
    const clientId = value?.type === "authorization_code" ? value.query?.client_id : undefined;
    return typeof clientId === "string" ? clientId : undefined;
  } catch {
    return undefined;
  }
}
