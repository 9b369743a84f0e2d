import { SCOPE } from "../contracts/scopes.ts";
import type { PolicyDocument } from "./types.ts";

/**
 * The policy every organization starts with (docs/policy.md, "The default
 * policy").
 *
 * - Anyone in the org with the `documents:read` scope reads the org's public
 *   and internal documents.
 * - Owners and admins also read confidential ones.
 * - `restricted` documents are granted by no rule here: default deny.
 * - Without the scope, an explicit deny (so no other allow can open it).
 * - Demo only: members with the scope may call the demo service's echo
 *   (routes.ts), which has no rows, so its allow carries the filter `{}`.
 * - Delegation: an agent acting for a person (`act`) may do what the person
 *   may, with the delegated token's scope. The token Worker issued that
 *   token only under the person's live delegation grant, to a client of the
 *   org acting as itself (workers/token/src/grants/token-exchange-parties.ts),
 *   so any such actor passes; an org narrows this by naming actors.
 * - The demo MCP server (route-table.ts, workers/demo/src/mcp.ts): members
 *   with the scope may start a session, list the tools and call the harmless
 *   `list_documents`; only owners and admins may call the sensitive
 *   `purge_documents`. Delegated agents get the harmless part only.
 */
/** The demo MCP server's session methods and its harmless tool. */
const MCP_DEMO_HARMLESS =
  'context.mcp_method in ["initialize", "notifications/initialized", "ping", "tools/list"] || ' +
  '(context.mcp_method == "tools/call" && context.mcp_tool == "list_documents")';

export const DEFAULT_POLICY: PolicyDocument = {
  format: 2,
  rules: [
    {
      id: "documents.require-scope",
      description: "Reading documents needs the documents:read scope",
      effect: "deny",
      resource: "documents",
      actions: ["read"],
      when: `!("${SCOPE.documentsRead}" in subject.scope)`,
    },
    {
      id: "documents.members-read",
      description: "Members read their org's public and internal documents",
      effect: "allow",
      resource: "documents",
      actions: ["read"],
      when: 'subject.org_id != ""',
      filter: { org_id: { attr: "subject.org_id" }, classification: { in: ["public", "internal"] } },
    },
    {
      id: "documents.admins-read-confidential",
      description: "Owners and admins also read confidential documents",
      effect: "allow",
      resource: "documents",
      actions: ["read"],
      when: '"owner" in subject.roles || "admin" in subject.roles',
      filter: { org_id: { attr: "subject.org_id" }, classification: { in: ["confidential"] } },
    },
    {
      id: "demo-echo.members-read",
      description: "Demo only: members with documents:read may call the echo service",
      effect: "allow",
      resource: "demo-echo",
      actions: ["read"],
      when: `subject.org_id != "" && "${SCOPE.documentsRead}" in subject.scope`,
    },
    {
      id: "documents.delegated-agents",
      description: "An agent the token service delegated to may read documents for the person",
      effect: "allow",
      resource: "documents",
      actions: ["read"],
      when: 'actor.client_id != ""',
    },
    {
      id: "mcp-demo.members-harmless",
      description: "Demo MCP server: members with documents:read may list the tools and call list_documents",
      effect: "allow",
      resource: "mcp-demo",
      actions: ["call"],
      when: `subject.org_id != "" && "${SCOPE.documentsRead}" in subject.scope && (${MCP_DEMO_HARMLESS})`,
      // The tools read the org's documents: the same rows a member reads at ENDPOINT.documents.
      filter: { org_id: { attr: "subject.org_id" }, classification: { in: ["public", "internal"] } },
    },
    {
      id: "mcp-demo.admins-purge",
      description: "Demo MCP server: only owners and admins may call the sensitive purge_documents",
      effect: "allow",
      resource: "mcp-demo",
      actions: ["call"],
      when: `("owner" in subject.roles || "admin" in subject.roles) && context.mcp_method == "tools/call" && context.mcp_tool == "purge_documents"`,
      filter: { org_id: { attr: "subject.org_id" } },
    },
    {
      id: "mcp-demo.delegated-agents-harmless",
      description: "Demo MCP server: an agent the token service delegated to gets the harmless part only",
      effect: "allow",
      resource: "mcp-demo",
      actions: ["call"],
      when: `actor.client_id != "" && (${MCP_DEMO_HARMLESS})`,
    },
    {
      id: "demo-echo.delegated-agents",
      description: "Demo only: an agent the token service delegated to may call the echo service for the person",
      effect: "allow",
      resource: "demo-echo",
      actions: ["read"],
      when: 'actor.client_id != ""',
    },
  ],
};
