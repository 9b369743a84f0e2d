import { drizzle } from "drizzle-orm/d1";
import { ALL_SCOPES } from "../../../../shared/contracts/scopes.ts";
import { MAX_ACCESS_TOKEN_TTL_SECONDS, MAX_DELEGATION_DEPTH } from "../../../../shared/contracts/tokens.ts";
import { orgTokenPolicy } from "../../../../shared/db/machine-schema.ts";
import { DEFAULT_ORG_TOKEN_POLICY, loadOrgTokenPolicy, type OrgTokenPolicy } from "../clients/org-policy.ts";
import { joinList } from "../clients/stored-client.ts";
import { tokenConfig } from "../config.ts";
import { auditDetail } from "./audit.ts";
import { readJsonObject } from "./body.ts";
import { requireOrg } from "./orgs.ts";
import type { AdminApp } from "./types.ts";
import { optionalBoolean, optionalInteger, optionalList, onlyFields } from "./validate.ts";
import { tokenPolicySchemas } from "../openapi/schemas.ts";
import { route } from "./route.ts";

const MIN_TTL_SECONDS = 30;
/** Far above any real client: a mint per millisecond. */
const MAX_MINTS_PER_MINUTE = 60_000;

const FIELDS = [
  "max_ttl_machine_seconds",
  "max_ttl_agent_seconds",
  "allowed_audiences",
  "scope_ceiling",
  "max_delegation_depth",
  "require_dpop_for_agents",
  "mints_per_minute_per_client",
] as const;

function policyView(orgId: string, policy: OrgTokenPolicy) {
  return {
    org_id: orgId,
    max_ttl_machine_seconds: policy.maxTtlMachineSeconds,
    max_ttl_agent_seconds: policy.maxTtlAgentSeconds,
    allowed_audiences: policy.allowedAudiences === null ? null : [...policy.allowedAudiences],
    scope_ceiling: policy.scopeCeiling === null ? null : [...policy.scopeCeiling],
    max_delegation_depth: policy.maxDelegationDepth,
    require_dpop_for_agents: policy.requireDpopForAgents,
    mints_per_minute_per_client: policy.mintsPerMinutePerClient,
    /** True when the org set none: these are the defaults (clients/org-policy.ts). */
    default: policy.updatedAt === null,
    updated_at: policy.updatedAt?.toISOString() ?? null,
  };
}

/**
 * An org's mint guardrails (`org_token_policy`, clients/org-policy.ts):
 *
 * - GET /orgs/{org}/token-policy → the policy in force (`default: true` when the org set none)
 * - PUT /orgs/{org}/token-policy → replaces it whole: a field left out takes its default;
 *   `null` for the TTLs, `allowed_audiences` and `scope_ceiling` means "no narrowing"
 *
 * A policy narrows the issuer's limits, never widens them: audiences and
 * scopes outside the issuer's are refused (400 `invalid_body`). It applies
 * to every mint from then on (each reads it from D1); tokens already
 * issued keep their lifetime, which is bounded by MAX_ACCESS_TOKEN_TTL_SECONDS.
 */
export function tokenPolicyRoutes(admin: AdminApp): void {
  route(
    admin,
    "get",
    "/orgs/:org/token-policy",
    { summary: "Read the org's mint guardrails", response: tokenPolicySchemas.view, orgAdmins: "org" },
    async (c) => {
      const orgId = await requireOrg(c);
      auditDetail(c, { action: "token_policy.read" });
      return c.json(policyView(orgId, await loadOrgTokenPolicy(c.env.DB, orgId)));
    },
  );

  route(
    admin,
    "put",
    "/orgs/:org/token-policy",
    {
      summary: "Replace the org's mint guardrails",
      body: tokenPolicySchemas.put,
      response: tokenPolicySchemas.view,
      orgAdmins: "org",
    },
    async (c) => {
      const orgId = await requireOrg(c);
      const body = await readJsonObject(c);
      onlyFields(body, FIELDS);
      const config = tokenConfig(c.env);
      const ttl = { min: MIN_TTL_SECONDS, max: MAX_ACCESS_TOKEN_TTL_SECONDS };
      const audiences = optionalList(body, "allowed_audiences", {
        allowed: config.allowedAudiences,
        maxItems: 64,
        itemMax: 1024,
      });
      const scopes = optionalList(body, "scope_ceiling", { allowed: ALL_SCOPES, maxItems: 64, itemMax: 128 });
      const values = {
        orgId,
        maxTtlMachineSeconds: optionalInteger(body, "max_ttl_machine_seconds", ttl) ?? null,
        maxTtlAgentSeconds: optionalInteger(body, "max_ttl_agent_seconds", ttl) ?? null,
        allowedAudiences: audiences == null ? null : joinList(audiences),
        scopeCeiling: scopes == null ? null : joinList(scopes),
        maxDelegationDepth:
          optionalInteger(body, "max_delegation_depth", { min: 0, max: MAX_DELEGATION_DEPTH }) ??
          DEFAULT_ORG_TOKEN_POLICY.maxDelegationDepth,
        requireDpopForAgents:
          optionalBoolean(body, "require_dpop_for_agents") ?? DEFAULT_ORG_TOKEN_POLICY.requireDpopForAgents,
        mintsPerMinutePerClient:
          optionalInteger(body, "mints_per_minute_per_client", { min: 1, max: MAX_MINTS_PER_MINUTE }) ??
          DEFAULT_ORG_TOKEN_POLICY.mintsPerMinutePerClient,
        updatedAt: new Date(),
      };
      const { orgId: _key, ...update } = values;
      await drizzle(c.env.DB)
        .insert(orgTokenPolicy)
        .values(values)
        .onConflictDoUpdate({ target: orgTokenPolicy.orgId, set: update })
        .run();
      auditDetail(c, { action: "token_policy.update" });
      return c.json(policyView(orgId, await loadOrgTokenPolicy(c.env.DB, orgId)));
    },
  );
}
