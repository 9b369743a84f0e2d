import type { PolicyDocument } from "../../../../shared/policy/types.ts";

/**
 * The policy every organization starts with, until it publishes its own
 * version (a later issue stores versions in D1 and snapshots in KV).
 *
 * - Anyone in the org with the `documents:read` scope reads the org's public
 *   and internal documents.
 * - Owners and admins also read confidential ones.
 * - `restricted` documents are granted by no rule here: default deny.
 * - Without the scope, an explicit deny (so a later allow cannot open it).
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
      when: { not: { has: [{ var: "subject.scope" }, "documents:read"] } },
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
  ],
};
