import { adminAudience } from "../../../../shared/contracts/endpoints.ts";
import { ALL_SCOPES, SCOPE } from "../../../../shared/contracts/scopes.ts";
import { PLATFORM_ORG_ID } from "../../../../shared/contracts/tokens.ts";
import { OAuthError } from "../../../../shared/errors/oauth.ts";
import type { TokenConfig } from "../config.ts";
import { describedValue } from "../http/read-form.ts";
import { registeredMcpAudiences } from "../mcp/audiences.ts";
import { DEFAULT_ORG_TOKEN_POLICY, loadOrgTokenPolicy, maxTtlForKind, type OrgTokenPolicy } from "./org-policy.ts";
import type { ClientRegistration } from "./types.ts";

/** Longest `scope`, `resource` or `audience` value read; anything longer is not ours. */
const MAX_VALUE_LENGTH = 1024;

/**
 * What a registered client may be issued, all limits applied: its own
 * registration, its org's guardrails (clients/org-policy.ts) and the
 * issuer's configuration. A platform operator client (no org) gets the
 * `admin` scope and the admin audience only, under the platform's defaults.
 */
export interface MintGuardrails {
  /** The tokens' `org_id`: the client's org, or PLATFORM_ORG_ID. */
  orgId: string;
  /** client scopes ∩ org scope ceiling ∩ the scopes the issuer knows. */
  scopes: ReadonlySet<string>;
  /** client audiences ∩ org allowed audiences ∩ the issuer's audiences. */
  audiences: ReadonlySet<string>;
  /** min(issuer TTL, org TTL for the client's kind, client TTL). */
  ttlSeconds: number;
  policy: OrgTokenPolicy;
}

export async function mintGuardrails(
  db: D1Database,
  config: TokenConfig,
  client: ClientRegistration,
): Promise<MintGuardrails> {
  if (client.orgId === null) {
    return {
      orgId: PLATFORM_ORG_ID,
      scopes: intersect(client.scopes, [SCOPE.admin]),
      audiences: intersect(client.audiences, [adminAudience(config.issuer)]),
      ttlSeconds: Math.min(config.accessTokenTtlSeconds, client.maxTtlSeconds ?? Number.POSITIVE_INFINITY),
      policy: DEFAULT_ORG_TOKEN_POLICY,
    };
  }
  // Read with the client when it authenticated (clients/registry.ts); fresh for this request either way.
  const policy = client.orgPolicy ?? (await loadOrgTokenPolicy(db, client.orgId));
  const mcpAudiences = await registeredMcpAudiences(db, config, client.orgId, client.audiences);
  return {
    orgId: client.orgId,
    scopes: intersect(client.scopes, ALL_SCOPES, policy.scopeCeiling),
    audiences: intersect(client.audiences, [...config.allowedAudiences, ...mcpAudiences], policy.allowedAudiences),
    ttlSeconds: Math.min(
      config.accessTokenTtlSeconds,
      maxTtlForKind(policy, client.kind) ?? Number.POSITIVE_INFINITY,
      client.maxTtlSeconds ?? Number.POSITIVE_INFINITY,
    ),
    policy,
  };
}

/** The values of `base` that every limit holds; a null limit does not narrow. */
function intersect(base: Iterable<string>, ...limits: (Iterable<string> | null)[]): ReadonlySet<string> {
  const sets = limits.filter((l): l is Iterable<string> => l !== null).map((l) => new Set(l));
  return new Set([...base].filter((value) => sets.every((set) => set.has(value))));
}

/**
 * RFC 6749 §3.3: the scope granted. Absent, it is everything the client may
 * have (the AS's documented default); present, every value must be allowed,
 * or the request is `invalid_scope` (§5.2) — never silently narrowed.
 */
export function grantScope(requested: string | undefined, allowed: ReadonlySet<string>): string {
  if (requested !== undefined && requested.length > MAX_VALUE_LENGTH) {
    throw new OAuthError("invalid_scope", "scope too long");
  }
  const scopes = requested === undefined || requested.trim() === "" ? [...allowed] : splitScope(requested);
  if (scopes.length === 0) throw new OAuthError("invalid_scope", "the client may be granted no scope");
  for (const scope of scopes) {
    if (!allowed.has(scope)) {
      throw new OAuthError("invalid_scope", `scope ${describedValue(scope)} is not allowed for this client`);
    }
  }
  return scopes.join(" ");
}

function splitScope(value: string): string[] {
  return [...new Set(value.split(" ").filter(Boolean))];
}

/**
 * The one audience a token is minted for. The target is named with
 * `resource` (RFC 8707 §2); `audience` (RFC 8693 §2.1's name, which our
 * token exchange uses) is accepted as a synonym, and when both are sent
 * they must be equal. With neither, a client registered for exactly one
 * audience gets that one. Whatever is named must be within `allowed`; any
 * other outcome is `invalid_target` (RFC 8707 §2: "invalid, missing,
 * unknown, or malformed").
 */
export function grantAudience(
  params: ReadonlyMap<string, string>,
  client: ClientRegistration,
  allowed: ReadonlySet<string>,
): string {
  const resource = params.get("resource");
  const audience = params.get("audience");
  if (resource !== undefined && audience !== undefined && resource !== audience) {
    throw new OAuthError("invalid_target", "resource and audience name different targets");
  }
  const named = resource ?? audience;
  if (named === undefined || named === "") {
    if (client.audiences.length !== 1) {
      throw new OAuthError("invalid_target", "name the target with resource: the client has several audiences");
    }
    const only = client.audiences[0] as string;
    if (!allowed.has(only)) throw new OAuthError("invalid_target", "the client's audience is not allowed");
    return only;
  }
  if (named.length > MAX_VALUE_LENGTH || !allowed.has(named)) {
    throw new OAuthError("invalid_target", "resource not allowed for this client");
  }
  return named;
}
