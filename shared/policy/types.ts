import type { FilterScalar } from "./filter.ts";

/**
 * A policy is data (DESIGN, "Policy"): per organization, versioned, compiled
 * once per version, evaluated per request without `eval`. The language is
 * written down in docs/policy.md.
 */
export interface PolicyDocument {
  /** Format of the document (2: CEL conditions), not the org's policy version. */
  format: 2;
  rules: PolicyRule[];
}

export interface PolicyRule {
  id: string;
  description?: string;
  effect: "allow" | "deny";
  /** The resource type the rule is about, e.g. "documents"; "*" for every type. */
  resource: string;
  /** Actions on it, e.g. ["read"]; ["*"] for every action. */
  actions: string[];
  /**
   * When the rule applies: a CEL expression of type bool over `subject`,
   * `actor`, `resource`, `action` and `context`. Absent means always.
   */
  when?: string;
  /** For allow rules: the data filter obligation, its values literals or attribute references. */
  filter?: FilterTemplate;
}

/** A reference to one attribute of the request: `{ "attr": "subject.org_id" }`. */
export interface AttributeRef {
  attr: string;
}

/** A field's value: a literal scalar, an attribute holding a scalar, or `in` a list. */
export type FieldTemplate = FilterScalar | AttributeRef | { in: FilterScalar[] | AttributeRef };

export type FilterTemplate = { any: FilterTemplate[] } | { [field: string]: FieldTemplate };

/** A value an open-ended attribute (`resource.attributes.*`) may hold. */
export type AttributeValue = FilterScalar | readonly FilterScalar[];

/** Who the token is about (RFC 9068 §2.2: `sub` and the claims beside it). */
export interface SubjectAttributes {
  id: string;
  org_id: string;
  client_id: string;
  /** RFC 9068 §2.2.3.1 roles in `org_id`. */
  roles: readonly string[];
  /** The token's scope, split on spaces (RFC 6749 §3.3). */
  scope: readonly string[];
}

/** The agent acting for the subject: the token's outermost `act` (RFC 8693 §4.1). */
export interface ActorAttributes {
  id: string;
  client_id: string;
  /** Every actor of the delegation chain, the current one first (RFC 8693 §4.1 nesting). */
  chain: readonly string[];
}

export interface ResourceAttributes {
  /** The resource type the route exposes (the gateway's route table). */
  type: string;
  /** Further attributes of the resource, if the route names any. */
  attributes?: Readonly<Record<string, AttributeValue>>;
}

/** What is known about the request itself. Absent values read as "", false, [] or now. */
export interface ContextAttributes {
  method: string;
  path: string;
  /** When the request is decided; defaults to now. */
  time?: Date;
  /** The client's address as the edge saw it. */
  ip?: string;
  /** The token is sender-constrained by DPoP (RFC 9449 §6: `cnf.jkt`) and its proof checked. */
  dpop_bound?: boolean;
  /** Authentication strength the token carries (OIDC Core §2 `acr` and `amr`), if any. */
  acr?: string;
  amr?: readonly string[];
  /** For an MCP route: the JSON-RPC method (e.g. "tools/call") and the tool's name. */
  mcp_method?: string;
  mcp_tool?: string;
}

/** The attributes a decision is made over. */
export interface DecisionInput {
  subject: SubjectAttributes;
  /** Absent for a direct request; present when the token carries `act` (delegation). */
  actor?: ActorAttributes;
  resource: ResourceAttributes;
  action: string;
  context: ContextAttributes;
}
