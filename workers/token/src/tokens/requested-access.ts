import { ALL_SCOPES, SCOPE } from "../../../../shared/contracts/scopes.ts";
import { OAuthError } from "../../../../shared/errors/oauth.ts";
import type { TokenConfig } from "../config.ts";

/** What a request gets when it names no scope (RFC 6749 §3.3 lets the AS pick a default). */
const DEFAULT_SCOPE = SCOPE.documentsRead;

/** Longest `audience` or `scope` value read; anything longer is not ours. */
const MAX_VALUE_LENGTH = 1024;

/** RFC 8693 §2.2.2: an audience we do not serve is `invalid_target`. */
export function requireAllowedAudience(config: TokenConfig, audience: string | undefined): string {
  if (audience === undefined || audience === "") throw new OAuthError("invalid_request", "missing parameter audience");
  if (audience.length > MAX_VALUE_LENGTH || !config.allowedAudiences.has(audience)) {
    throw new OAuthError("invalid_target", "audience not allowed");
  }
  return audience;
}

/**
 * RFC 6749 §3.3: space-delimited, case-sensitive, order and duplicates
 * meaningless; a scope we do not know is `invalid_scope` (§5.2), never
 * silently dropped.
 */
export function normaliseScope(raw: string | undefined): string {
  if (raw === undefined || raw.trim() === "") return DEFAULT_SCOPE;
  if (raw.length > MAX_VALUE_LENGTH) throw new OAuthError("invalid_scope", "scope too long");
  const scopes = [...new Set(raw.split(" ").filter(Boolean))];
  for (const scope of scopes) {
    if (!ALL_SCOPES.has(scope)) throw new OAuthError("invalid_scope", "unknown scope");
  }
  return scopes.join(" ");
}
