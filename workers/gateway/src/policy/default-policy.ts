import { SCOPE } from "../../../../shared/contracts/scopes.ts";
import type { PolicyDocument } from "../../../../shared/policy/types.ts";

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
 */
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
      id: "demo-echo.delegated-agents",
      description: "Demo only: an agent the token service delegated to may call the echo service for the person",
      effect: "allow",
      resource: "demo-echo",
      actions: ["read"],
      when: 'actor.client_id != ""',
    },
  ],
};
