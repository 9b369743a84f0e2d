import { ALL_SCOPES } from "../../../../shared/contracts/scopes.ts";
import { OAuthError } from "../../../../shared/errors/oauth.ts";

/** Longest `audience`, `resource` or `scope` value read; anything longer is not ours. */
const MAX_VALUE_LENGTH = 1024;

/**
 * One limit on what an issued token may hold: a set, or null for "no limit
 * of its own" (an org without a policy row, RFC 8707 resource lists an
 * issuer does not check). Every limit narrows; none widens another.
 */
export type Limit = ReadonlySet<string> | readonly string[] | null;

function allows(limit: Limit, value: string): boolean {
  if (limit === null) return true;
  return Array.isArray(limit) ? limit.includes(value) : (limit as ReadonlySet<string>).has(value);
}

/**
 * RFC 8693 §2.2.2: a target (an `audience` or `resource`) the token cannot
 * be issued for is `invalid_target`. The target must pass every limit: what
 * this issuer serves, what the client may have, what the org's policy
 * allows and, where one applies, what the subject token already holds.
 */
export function requireTarget(target: string, limits: readonly Limit[]): string {
  if (target.length > MAX_VALUE_LENGTH || !limits.every((limit) => allows(limit, target))) {
    throw new OAuthError("invalid_target", "the token cannot be issued for this audience or resource");
  }
  return target;
}

/**
 * RFC 8693 §2.1 allows `resource` and `audience` side by side; the tokens
 * issued here have one audience, so when both are sent they must name the
 * same target. Neither: undefined (the caller picks a default).
 */
export function requestedTarget(audience: string | undefined, resource: string | undefined): string | undefined {
  if (audience !== undefined && resource !== undefined && audience !== resource) {
    throw new OAuthError("invalid_target", "audience and resource name different targets");
  }
  return audience ?? resource;
}

/**
 * The scopes a client asked for (RFC 6749 §3.3: space-delimited, order and
 * duplicates meaningless), or undefined when it asked for none. A scope we
 * do not know is `invalid_scope` (§5.2), never silently dropped.
 */
export function requestedScopes(raw: string | undefined): string[] | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  if (raw.length > MAX_VALUE_LENGTH) throw new OAuthError("invalid_scope", "scope too long");
  const scopes = [...new Set(raw.split(" ").filter(Boolean))];
  if (!scopes.every((scope) => ALL_SCOPES.has(scope))) throw new OAuthError("invalid_scope", "unknown scope");
  return scopes;
}

/**
 * The scope a token gets: the intersection of what was asked (everything,
 * when nothing was) with every limit. RFC 6749 §3.3 lets the server issue
 * less than asked (the response then names what it issued); an empty
 * intersection is `invalid_scope` (§5.2: the scope "exceeds the scope
 * granted by the resource owner").
 */
export function narrowScopes(asked: readonly string[] | undefined, limits: readonly Limit[]): string[] {
  const granted = (asked ?? [...ALL_SCOPES]).filter((scope) => limits.every((limit) => allows(limit, scope)));
  if (granted.length === 0) throw new OAuthError("invalid_scope", "none of the requested scope can be granted");
  return granted;
}
