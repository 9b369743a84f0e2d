import { storedTokenForm } from "./stored-token.ts";

/**
 * What Better Auth's oauth-provider stored with a live (issued, not yet
 * redeemed, unexpired) authorization code and compares at its redemption:
 * the authorization request's `client_id` (RFC 6749 §4.1.3), its
 * `redirect_uri` (§4.1.3, "identical"), its PKCE challenge (RFC 7636 §4.6;
 * Better Auth stores only S256 ones), the resources it was authorized for
 * (RFC 8707 §2.2), the DPoP key it is bound to (RFC 9449 §10) and, for
 * whether PKCE was required, its scopes and nonce.
 */
export interface LiveCode {
  clientId: string;
  redirectUri: string | undefined;
  codeChallenge: string | undefined;
  codeChallengeMethod: string | undefined;
  scopes: string[];
  nonce: string | undefined;
  /** The consented resources, else the requested ones (Better Auth's `resource` ?? `query.resource`). */
  resources: string[] | undefined;
  /** RFC 9449 §10: the key thumbprint the code is bound to, when it was requested with `dpop_jkt`. */
  dpopJkt: string | undefined;
}

/**
 * A live code, from the `verification` row Better Auth's oauth-provider
 * keeps for it: `identifier` is the code's stored form (its default
 * `storeTokens: "hashed"`, oidc/stored-token.ts), `value` the JSON of the
 * authorization request (`query`). Better Auth spends that row before it
 * compares the client, the redirect URI and the PKCE verifier, so this is
 * read first (oidc/live-code-checks.ts). Undefined when no live row holds
 * the code or its value is not as Better Auth writes it: Better Auth then
 * answers for it as before.
 */
export async function liveCode(db: D1Database, code: string, now = Date.now()): Promise<LiveCode | undefined> {
  const row = await db
    .prepare("SELECT value FROM verification WHERE identifier = ?1 AND expires_at > ?2 LIMIT 1")
    .bind(await storedTokenForm(code), now)
    .first<{ value: string }>();
  if (!row) return undefined;
  let value: { type?: unknown; query?: Record<string, unknown> | null; resource?: unknown } | null;
  try {
    value = JSON.parse(row.value) as typeof value;
  } catch {
    return undefined;
  }
  const query = value?.type === "authorization_code" ? value.query : undefined;
  if (!query || typeof query.client_id !== "string") return undefined;
  const fields = ["redirect_uri", "code_challenge", "code_challenge_method", "scope", "nonce", "dpop_jkt"] as const;
  const values = fields.map((name) => query[name]);
  // Better Auth's schema refuses any other value as "malformed" itself: not ours to guess at.
  if (!values.every(isOptionalText)) return undefined;
  const [redirectUri, codeChallenge, codeChallengeMethod, scope, nonce, dpopJkt] = values;
  const consented = value?.resource;
  const requested = query.resource;
  if (consented !== undefined && !isTextList(consented)) return undefined;
  if (requested !== undefined && typeof requested !== "string" && !isTextList(requested)) return undefined;
  // Better Auth reads an empty value as none (its truthiness tests).
  const text = (field: string | undefined) => field || undefined;
  return {
    clientId: query.client_id,
    redirectUri: text(redirectUri),
    codeChallenge: text(codeChallenge),
    codeChallengeMethod: text(codeChallengeMethod),
    scopes: scope?.split(" ") ?? [],
    nonce: text(nonce),
    resources: resourceList(consented) ?? resourceList(requested),
    // Better Auth's `!!authCodeDpopJkt`: an empty one binds nothing.
    dpopJkt: text(dpopJkt),
  };
}

function isOptionalText(field: unknown): field is string | undefined {
  return field === undefined || typeof field === "string";
}

function isTextList(field: unknown): field is string[] {
  return Array.isArray(field) && field.every((item) => typeof item === "string");
}

/** Better Auth's `toResourceList`: one resource, several, or none for an empty list. */
function resourceList(field: string | string[] | undefined): string[] | undefined {
  if (typeof field === "string") return [field];
  return field?.length ? field : undefined;
}
