import { SCOPE } from "../../../../shared/contracts/scopes.ts";
import type { PolicyDocument } from "../../../../shared/policy/types.ts";

/**
 * The policy every organization starts with.
 *
 * - Anyone in the org with the `documents:read` scope reads the org's public
 *   and internal documents.
 * - Owners and admins also read confidential ones.
 * - `restricted` documents are granted by no rule here: default deny.
 * - Without the scope, an explicit deny (so no other allow can open it).
 * - Demo only: members with the scope may call the demo service's echo
 *   (routes.ts), which has no rows, so its allow carries the filter `{}`.
 */
export const DEFAULT_POLICY: PolicyDocument = {
  format: 1,
  rules: [
    {
      id: "documents.require-scope",
      description: "Reading documents needs the documents:read scope",
      effect: "deny",
      resource: "documents",
      actions: ["read"],
      when: { not: { has: [{ var: "subject.scope" }, SCOPE.documentsRead] } },
    },
    {
      id: "documents.members-read",
      description: "Members read their org's public and internal documents",
      effect: "allow",
      resource: "documents",
      actions: ["read"],
      when: { exists: { var: "subject.org_id" } },
      filter: { org_id: { var: "subject.org_id" }, classification: { in: ["public", "internal"] } },
    },
    {
      id: "documents.admins-read-confidential",
      description: "Owners and admins also read confidential documents",
      effect: "allow",
      resource: "documents",
      actions: ["read"],
      when: { any: [{ has: [{ var: "subject.roles" }, "owner"] }, { has: [{ var: "subject.roles" }, "admin"] }] },
      filter: { org_id: { var: "subject.org_id" }, classification: { in: ["confidential"] } },
    },
    {
      id: "demo-echo.members-read",
      description: "Demo only: members with documents:read may call the echo service",
      effect: "allow",
      resource: "demo-echo",
      actions: ["read"],
      when: { all: [{ exists: { var: "subject.org_id" } }, { has: [{ var: "subject.scope" }, SCOPE.documentsRead] }] },
    },
  ],
};
