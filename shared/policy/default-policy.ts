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
 *   `purge_documents`. Delegated agents get the harmless part only. An
 *   agent whose live grant names a sensitive tool (the gateway checks it:
 *   workers/gateway/src/mcp/tool-gate.ts) may call it too.
 * - MCP servers an org registered (type `mcp-<name>`): members and agents
 *   use the session methods and the tools registered `normal`; sensitive
 *   tools are for owners and admins, and for agents a live grant names
 *   them to. An org's own policy narrows this by naming the server's type.
 */
/** The demo MCP server's session methods and its harmless tool. */
const MCP_DEMO_HARMLESS =
  'context.mcp_method in ["initialize", "notifications/initialized", "ping", "tools/list"] || ' +
  '(context.mcp_method == "tools/call" && context.mcp_tool == "list_documents")';

/** MCP session methods every MCP rule lets through with the tool list. */
const MCP_SESSION = 'context.mcp_method in ["initialize", "notifications/initialized", "ping", "tools/list"]';
/**
 * What the gateway tells the PDP of a tool call (shared/contracts/mcp.ts
 * MCP_RESOURCE_ATTRIBUTE): the registered sensitivity, and whether a live
 * grant an operator approved names the tool for this agent.
 */
const GRANTED = "has(resource.attributes.granted) && resource.attributes.granted == true";
const NORMAL_TOOL = 'has(resource.attributes.tool_sensitivity) && resource.attributes.tool_sensitivity == "normal"';
/** An MCP server an org registered (its type is `mcp-<name>`), not the demo, which has its own rules above. */
const REGISTERED_MCP = 'resource.type.startsWith("mcp-") && resource.type != "mcp-demo"';

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
      id: "mcp-demo.granted-agents-sensitive",
      description:
        "Demo MCP server: an agent acting as itself may call a sensitive tool a live grant names (the gateway checked the grant: resource.attributes.granted)",
      effect: "allow",
      resource: "mcp-demo",
      actions: ["call"],
      when: `subject.org_id != "" && subject.id == subject.client_id && context.mcp_method == "tools/call" && ${GRANTED}`,
      filter: { org_id: { attr: "subject.org_id" } },
    },
    {
      id: "mcp-demo.granted-actors-sensitive",
      description:
        "Demo MCP server: a delegated agent may call a sensitive tool a live grant names, for a person allowed it",
      effect: "allow",
      resource: "mcp-demo",
      actions: ["call"],
      when: `actor.client_id != "" && context.mcp_method == "tools/call" && ${GRANTED}`,
    },
    {
      id: "mcp.registered-members",
      description:
        "MCP servers an org registered: members and the org's agents may start a session, list the tools and call the ones registered as normal",
      effect: "allow",
      resource: "*",
      actions: ["call"],
      when: `${REGISTERED_MCP} && subject.org_id != "" && (${MCP_SESSION} || (context.mcp_method == "tools/call" && ${NORMAL_TOOL}))`,
      filter: { org_id: { attr: "subject.org_id" } },
    },
    {
      id: "mcp.registered-sensitive",
      description:
        "MCP servers an org registered: a sensitive tool for owners and admins, or for an agent a live grant names it to",
      effect: "allow",
      resource: "*",
      actions: ["call"],
      when: `${REGISTERED_MCP} && subject.org_id != "" && context.mcp_method == "tools/call" && ("owner" in subject.roles || "admin" in subject.roles || (subject.id == subject.client_id && ${GRANTED}))`,
      filter: { org_id: { attr: "subject.org_id" } },
    },
    {
      id: "mcp.registered-delegated-agents",
      description:
        "MCP servers an org registered: a delegated agent may do the normal part for the person, and a sensitive tool its live grant names",
      effect: "allow",
      resource: "*",
      actions: ["call"],
      when: `actor.client_id != "" && ${REGISTERED_MCP} && (${MCP_SESSION} || (context.mcp_method == "tools/call" && (${NORMAL_TOOL} || ${GRANTED})))`,
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
