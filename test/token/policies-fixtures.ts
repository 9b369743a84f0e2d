import { expect } from "vitest";
import { adminRequest } from "./admin-fixtures.ts";

/** A format 2 policy (docs/policy.md): members with the scope read their org's rows; interns never. */
export const MEMBERS_READ = {
  format: 2,
  rules: [
    {
      id: "members-read",
      effect: "allow",
      resource: "documents",
      actions: ["read"],
      when: '"documents:read" in subject.scope',
      filter: { org_id: { attr: "subject.org_id" } },
    },
    {
      id: "no-interns",
      effect: "deny",
      resource: "documents",
      actions: ["read"],
      when: '"intern" in subject.roles',
    },
  ],
};

/** Every request denied: no rule allows anything. */
export const DENY_ALL = { format: 2, rules: [] };

export const MEMBER_REQUEST = {
  subject: { id: "user-1", org_id: "org-1", roles: ["member"], scope: ["documents:read"] },
  resource: { type: "documents" },
  action: "read",
  context: { method: "GET", path: "/api/documents" },
};

export const INTERN_REQUEST = {
  ...MEMBER_REQUEST,
  subject: { ...MEMBER_REQUEST.subject, roles: ["intern"] },
};

/** MEMBERS_READ's tests, which pass. */
export const MEMBERS_READ_TESTS = [
  {
    name: "members read their org's documents",
    request: MEMBER_REQUEST,
    expect: "allow",
    matched: ["members-read"],
    filter: { org_id: "org-1" },
  },
  { name: "interns do not", request: INTERN_REQUEST, expect: "deny", matched: ["no-interns"] },
];

/** A version as the admin API shows it. */
export interface VersionBody {
  org_id: string;
  version: number;
  status: "draft" | "published" | "superseded";
  current: boolean;
  test_count: number;
  rule_count: number;
  created_by: string;
  created_at: string;
  published_at: string | null;
  document: unknown;
  tests: unknown[];
}

export async function createVersion(
  token: string,
  orgId: string,
  document: unknown = MEMBERS_READ,
  tests: unknown[] = MEMBERS_READ_TESTS,
): Promise<VersionBody> {
  const response = await adminRequest("POST", `/orgs/${orgId}/policies`, { token, body: { document, tests } });
  expect(response.status).toBe(201);
  return (await response.json()) as VersionBody;
}

export async function publish(token: string, orgId: string, version: number): Promise<Record<string, unknown>> {
  const response = await adminRequest("POST", `/orgs/${orgId}/policies/${version}/publish`, { token });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}
