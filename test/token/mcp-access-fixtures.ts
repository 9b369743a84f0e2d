import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import { AGENT_API } from "../../shared/contracts/mcp.ts";
import { adminRequest, adminToken } from "./admin-fixtures.ts";
import { clientToken, createTestOrg, registerTestClient } from "./clients-fixtures.ts";
import { AUDIENCE } from "./fixtures.ts";

// Shared by the agent API tests (mcp-agent-api.test.ts) and the operator
// review tests (mcp-access-review.test.ts): the views they read and the
// calls an agent and an operator make.

export interface RequestView {
  id: string;
  org_id: string;
  client_id: string;
  server: string;
  resource: string;
  scopes: string[];
  tools: string[];
  on_behalf_of: string;
  reason: string;
  ttl_seconds: number;
  status: string;
  decided_by: string | null;
  grant_id: string | null;
}

export interface GrantView {
  id: string;
  client_id: string;
  server: string;
  tools: string[];
  scopes: string[];
  on_behalf_of: string;
  status: string;
  expires_at: string;
  delegation_grant_id: string | null;
  revoked_at: string | null;
}

/**
 * A platform operator's admin token, minted anew by each call: the files of
 * a project share one runtime (and this module), and a token kept for the
 * next file could have expired or been cut off by the one before it.
 */
export function operatorToken(): Promise<string> {
  return adminToken();
}

export function agentRequest(method: string, path: string, token: string | undefined, body?: unknown) {
  const headers: Record<string, string> = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  return exports.default.fetch(
    new Request(`http://localhost${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
}

export async function setup() {
  const orgId = await createTestOrg();
  const agent = await registerTestClient({ orgId, scopes: ["documents:read"], audiences: [AUDIENCE] });
  const token = await clientToken(agent);
  return { orgId, agent, token };
}

export const PURGE = { server: "demo", tools: ["purge_documents"], reason: "clean up the test org", ttl_seconds: 3600 };

export async function fileRequest(token: string, body: Record<string, unknown> = PURGE): Promise<RequestView> {
  const response = await agentRequest("POST", AGENT_API.accessRequests, token, body);
  expect(response.status).toBe(201);
  return (await response.json()) as RequestView;
}

export const requestsPath = (orgId: string, id = "") => `/orgs/${orgId}/access-requests${id ? `/${id}` : ""}`;

export async function approve(orgId: string, id: string, body: Record<string, unknown> = {}) {
  return adminRequest("POST", `${requestsPath(orgId, id)}/approve`, { token: await operatorToken(), body });
}

export async function discovered(token: string) {
  const response = await agentRequest("GET", AGENT_API.mcpServers, token);
  expect(response.status).toBe(200);
  return (await response.json()) as {
    servers: {
      name: string;
      resource: string;
      tools: { name: string; callable: boolean; requires_grant: boolean }[];
      grants: { id: string }[];
    }[];
  };
}
