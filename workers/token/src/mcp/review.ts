import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { recordAuditInBackground } from "../../../../shared/audit/record-audit.ts";
import {
  ACCESS_EVENT,
  DEFAULT_GRANT_TTL_SECONDS,
  MAX_GRANT_TTL_SECONDS,
  ON_BEHALF_OF_ORG,
} from "../../../../shared/contracts/mcp.ts";
import { member } from "../../../../shared/db/auth-schema.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import type { TokenConfig } from "../config.ts";
import { revokeDelegationGrant } from "../grants/delegation-grants.ts";
import { revokeGrantRecordedFirst } from "../revocations/grant-revocation.ts";
import {
  type AccessRequest,
  approveAccessRequest,
  createAccessRequest,
  denyAccessRequest,
  expireServerRequests,
} from "./access-requests.ts";
import { findMcpGrant, type McpGrant, markGrantRevoked, unexpiredGrantsOfServer } from "./grants.ts";
import { notifyAccessEvent } from "./notify.ts";
import { findMcpServer } from "./registry.ts";
import { accessRequestView, grantView } from "./views.ts";

/**
 * The operator review cycle of agent access, with what each step owes
 * beyond its row: an audit event (who asked, who decided, what was granted,
 * what was revoked), a signed notification to the org's webhook
 * (mcp/notify.ts), and for a revoked grant a revocation event recorded in
 * the org's Durable Object before anything says it is revoked.
 */
export interface ReviewDeps {
  env: TokenEnv;
  config: TokenConfig;
  waitUntil: (promise: Promise<unknown>) => void;
}

/** What an agent asks for (the agent API's body, already shaped). */
export interface AccessAsk {
  orgId: string;
  clientId: string;
  server: string;
  tools: readonly string[];
  scopes: readonly string[];
  onBehalfOf: string;
  reason: string;
  ttlSeconds: number | undefined;
}

/**
 * Files a request: the server must be active in the agent's org, the tools
 * and scopes its own, a person a member of the org. Refusals are 400
 * `invalid_body` naming the field (the server is named by `server`).
 */
export async function fileAccessRequest(deps: ReviewDeps, ask: AccessAsk): Promise<AccessRequest> {
  const { env, config } = deps;
  const server = await findMcpServer(env.DB, config.issuer, ask.orgId, ask.server);
  if (!server || server.status !== "active") {
    throw new HttpError("invalid_body", "server: no such active MCP server in this org");
  }
  const tools = server.tools.map((t) => t.name);
  for (const tool of ask.tools) {
    if (!tools.includes(tool)) throw new HttpError("invalid_body", `tools: ${tool} is not a tool of ${server.name}`);
  }
  for (const scope of ask.scopes) {
    if (!server.scopes.includes(scope)) {
      throw new HttpError("invalid_body", `scopes: ${server.name} does not understand ${scope}`);
    }
  }
  if (ask.tools.length === 0 && ask.scopes.length === 0) {
    throw new HttpError("invalid_body", "tools, scopes: ask for at least one tool or scope");
  }
  if (ask.onBehalfOf !== ON_BEHALF_OF_ORG) await requireMember(env.DB, ask.orgId, ask.onBehalfOf);
  const request = await createAccessRequest(env.DB, {
    orgId: ask.orgId,
    clientId: ask.clientId,
    serverName: server.name,
    resource: server.resource,
    scopes: ask.scopes,
    tools: ask.tools,
    onBehalfOf: ask.onBehalfOf,
    reason: ask.reason,
    ttlSeconds: ask.ttlSeconds ?? DEFAULT_GRANT_TTL_SECONDS,
  });
  announce(deps, request, "recorded", ACCESS_EVENT.requested, request.clientId);
  return request;
}

/** What an operator may narrow on approval; absent fields keep what was asked. */
export interface ApprovalChoice {
  tools?: readonly string[];
  scopes?: readonly string[];
  ttlSeconds?: number;
  note: string | null;
  decidedBy: string;
}

/**
 * Approves, never widening: the tools and scopes must be among those asked
 * for and the TTL at most the one asked for (400 `invalid_body` otherwise);
 * a request no longer pending is 409 `conflict` `ERR_ACCESS_REQUEST_DECIDED`.
 */
export async function approve(
  deps: ReviewDeps,
  request: AccessRequest,
  choice: ApprovalChoice,
): Promise<{ request: AccessRequest; grant: McpGrant }> {
  const tools = narrowed("tools", request.tools, choice.tools);
  const scopes = narrowed("scopes", request.scopes, choice.scopes);
  if (tools.length === 0 && scopes.length === 0) {
    throw new HttpError("invalid_body", "tools, scopes: an approval grants at least one tool or scope");
  }
  const ttlSeconds = choice.ttlSeconds ?? request.ttlSeconds;
  if (ttlSeconds > request.ttlSeconds) {
    throw new HttpError("invalid_body", `ttl_seconds: at most the ${request.ttlSeconds} asked for`);
  }
  if (request.status !== "pending") throw decided();
  const result = await approveAccessRequest(deps.env.DB, request, {
    tools,
    scopes,
    ttlSeconds: Math.min(ttlSeconds, MAX_GRANT_TTL_SECONDS),
    decidedBy: choice.decidedBy,
    note: choice.note,
  });
  announce(deps, result.request, "allow", ACCESS_EVENT.approved, choice.decidedBy, {
    grant: grantView(result.grant),
  });
  deps.waitUntil(
    recordAuditInBackground(deps.env, {
      kind: "mcp.grant",
      outcome: "issued",
      orgId: result.grant.orgId,
      subject: choice.decidedBy,
      clientId: result.grant.clientId,
      detail: {
        action: "create",
        grant_id: result.grant.id,
        request_id: request.id,
        server: result.grant.serverName,
        tools: result.grant.tools,
        scopes: result.grant.scopes,
        on_behalf_of: result.grant.onBehalfOf,
        expires_at: result.grant.expiresAt.toISOString(),
      },
    }),
  );
  return result;
}

export async function deny(
  deps: ReviewDeps,
  request: AccessRequest,
  decision: { decidedBy: string; note: string | null },
): Promise<AccessRequest> {
  if (request.status !== "pending") throw decided();
  const denied = await denyAccessRequest(deps.env.DB, request, decision);
  announce(deps, denied, "deny", ACCESS_EVENT.denied, decision.decidedBy);
  return denied;
}

/**
 * Revokes a grant: the revocation event in the org's Durable Object first,
 * kept a slack longer so it outlives the tokens of mints in flight, then D1
 * (the gateway's and token exchange's source, so the next read refuses it),
 * its delegation grant before it, then, once, its audit event and
 * notification, then the event again only if D1 took longer than the slack
 * (revocations/grant-revocation.ts). The event is of kind
 * `grant` naming the delegation grant a person's tokens carry as
 * `grant_id` (so those tokens are cut off at the gateway), or the MCP grant
 * itself for an agent acting as itself, whose tokens the gateway checks
 * against live grants on every sensitive call. The first recording or D1
 * failing is 503 `temporarily_unavailable` with nothing announced (the
 * object's refusal leaves the grant active in D1, so the operator's retry
 * does it all again); that second recording failing is 503 with the grant
 * revoked, cut off and announced, and a retry of a grant already revoked
 * records it again.
 */
export async function revokeGrant(
  deps: ReviewDeps,
  orgId: string,
  id: string,
  revokedBy: string,
): Promise<McpGrant | undefined> {
  const existing = await findMcpGrant(deps.env.DB, orgId, id);
  if (!existing) return undefined;
  const { grant } = await revokeGrantRecordedFirst(
    deps.env,
    { orgId, grantId: existing.delegationGrantId ?? existing.id, reason: "mcp-grant-revoked" },
    deps.waitUntil,
    {
      // The delegation grant first (revoking it again changes nothing): the MCP grant's write decides
      // who announces, so it is the last write, and one failing before it leaves the announcement to the retry.
      markRevoked: async () => {
        if (existing.delegationGrantId) await revokeDelegationGrant(deps.env.DB, orgId, existing.delegationGrantId);
        // The revoked row comes back from the write: a read after it that failed lost the announcement
        // (the 503's retry finds the grant revoked already and announces nothing).
        const revoked = await markGrantRevoked(deps.env.DB, orgId, id, revokedBy);
        if (revoked) return { changed: true, grant: revoked };
        return { changed: false, grant: (await findMcpGrant(deps.env.DB, orgId, id)) ?? existing };
      },
      // Told once, by the call that revoked it in D1, and only with the cut-off recorded.
      announce: ({ changed, grant }) => {
        if (!changed) return;
        deps.waitUntil(
          recordAuditInBackground(deps.env, {
            kind: "mcp.grant",
            outcome: "recorded",
            orgId,
            subject: revokedBy,
            clientId: grant.clientId,
            detail: { action: "revoke", grant_id: grant.id, server: grant.serverName },
          }),
        );
        deps.waitUntil(notifyAccessEvent(deps, orgId, ACCESS_EVENT.grantRevoked, { grant: grantView(grant) }));
      },
    },
  );
  return grant;
}

/**
 * Ends every grant of a server the org is removing, before its row goes: a
 * grant names its server by name (`mcp_grant.server_name`, as the gateway
 * asks for it), so one left active would cover the same tool names at any
 * server registered under the name later, an upstream nobody approved this
 * agent for. Each is revoked as DELETE /mcp-grants/{id} revokes it (its
 * delegation grant, audit, notice, the recorded revocation); a recording
 * that fails throws 503 with the server still registered and that grant
 * still active, so the operator's retry finds the grants again (revoked
 * ones included) and records them.
 * Its pending requests expire first, so none is approved into a new one.
 */
export async function revokeServerGrants(
  deps: ReviewDeps,
  orgId: string,
  serverName: string,
  revokedBy: string,
): Promise<void> {
  await expireServerRequests(deps.env.DB, orgId, serverName);
  for (const grant of await unexpiredGrantsOfServer(deps.env.DB, orgId, serverName)) {
    await revokeGrant(deps, orgId, grant.id, revokedBy);
  }
}

function announce(
  deps: ReviewDeps,
  request: AccessRequest,
  outcome: "recorded" | "allow" | "deny",
  event: (typeof ACCESS_EVENT)[keyof typeof ACCESS_EVENT],
  by: string,
  extra: Record<string, unknown> = {},
): void {
  deps.waitUntil(
    recordAuditInBackground(deps.env, {
      kind: "mcp.access_request",
      outcome,
      orgId: request.orgId,
      subject: by,
      clientId: request.clientId,
      detail: {
        action: event,
        request_id: request.id,
        server: request.serverName,
        tools: request.tools,
        scopes: request.scopes,
        on_behalf_of: request.onBehalfOf,
        status: request.status,
      },
    }),
  );
  deps.waitUntil(
    notifyAccessEvent(deps, request.orgId, event, { access_request: accessRequestView(request), ...extra }),
  );
}

function narrowed(field: string, asked: readonly string[], chosen: readonly string[] | undefined): string[] {
  if (chosen === undefined) return [...asked];
  for (const value of chosen) {
    if (!asked.includes(value)) throw new HttpError("invalid_body", `${field}: ${value} was not asked for`);
  }
  return [...new Set(chosen)];
}

function decided(): HttpError {
  return new HttpError("conflict", "ERR_ACCESS_REQUEST_DECIDED: the request is no longer pending");
}

async function requireMember(db: D1Database, orgId: string, userId: string): Promise<void> {
  const row = await drizzle(db)
    .select({ id: member.id })
    .from(member)
    .where(and(eq(member.organizationId, orgId), eq(member.userId, userId)))
    .get();
  if (!row) throw new HttpError("invalid_body", "on_behalf_of: not a member of this org");
}
