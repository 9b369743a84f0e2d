import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { orgTokenPolicy } from "../../../../shared/db/machine-schema.ts";
import { splitList } from "./stored-client.ts";
import type { ClientKind } from "./types.ts";

type OrgTokenPolicyRow = typeof orgTokenPolicy.$inferSelect;

/**
 * An org's mint guardrails (`org_token_policy`), as every grant reads them.
 * Each value narrows the issuer's own limits, never widens them.
 */
export interface OrgTokenPolicy {
  /** Longest access-token lifetime for machine and service clients; null = the issuer's. */
  maxTtlMachineSeconds: number | null;
  /** Longest access-token lifetime for agent clients; null = the issuer's. */
  maxTtlAgentSeconds: number | null;
  /** Audiences (RFC 8707 resources) its tokens may name; null = every audience the issuer serves. */
  allowedAudiences: readonly string[] | null;
  /** Scopes its tokens may carry; null = every scope the issuer knows. */
  scopeCeiling: readonly string[] | null;
  /** Longest `act` chain (RFC 8693 §4.1) a token of the org may carry. */
  maxDelegationDepth: number;
  /** RFC 9449: agent clients' tokens must be DPoP-bound. */
  requireDpopForAgents: boolean;
  /** Tokens one client may mint per minute (clients/mint-limit.ts). */
  mintsPerMinutePerClient: number;
  /** When an operator last set it; null: no row, these are the defaults. */
  updatedAt: Date | null;
}

/**
 * The guardrails of an org that set none, and of the platform's own
 * operator clients. The numbers are the column defaults of
 * shared/db/machine-schema.ts.
 */
export const DEFAULT_ORG_TOKEN_POLICY: OrgTokenPolicy = {
  maxTtlMachineSeconds: null,
  maxTtlAgentSeconds: null,
  allowedAudiences: null,
  scopeCeiling: null,
  maxDelegationDepth: 2,
  requireDpopForAgents: false,
  mintsPerMinutePerClient: 600,
  updatedAt: null,
};

/** The org's guardrails, or the defaults when it set none. Read from D1 on every mint (no cache: a tightened policy applies at once). */
export async function loadOrgTokenPolicy(db: D1Database, orgId: string): Promise<OrgTokenPolicy> {
  return orgTokenPolicyFromRow(
    await drizzle(db).select().from(orgTokenPolicy).where(eq(orgTokenPolicy.orgId, orgId)).get(),
  );
}

/** An `org_token_policy` row as guardrails; no row (an org that set none): the defaults. */
export function orgTokenPolicyFromRow(row: OrgTokenPolicyRow | null | undefined): OrgTokenPolicy {
  if (!row) return DEFAULT_ORG_TOKEN_POLICY;
  return {
    maxTtlMachineSeconds: row.maxTtlMachineSeconds,
    maxTtlAgentSeconds: row.maxTtlAgentSeconds,
    allowedAudiences: row.allowedAudiences === null ? null : splitList(row.allowedAudiences),
    scopeCeiling: row.scopeCeiling === null ? null : splitList(row.scopeCeiling),
    maxDelegationDepth: row.maxDelegationDepth,
    requireDpopForAgents: row.requireDpopForAgents,
    mintsPerMinutePerClient: row.mintsPerMinutePerClient,
    updatedAt: row.updatedAt,
  };
}

/** The org's TTL cap for a kind of client: a service is a machine principal. */
export function maxTtlForKind(policy: OrgTokenPolicy, kind: ClientKind): number | null {
  return kind === "agent" ? policy.maxTtlAgentSeconds : policy.maxTtlMachineSeconds;
}
