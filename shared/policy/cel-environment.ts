import { Environment } from "@marcbachmann/cel-js";
import { POLICY_LIMITS } from "./limits.ts";
import type { AttributeValue, DecisionInput } from "./types.ts";

/**
 * The variables a condition sees and the fields of each (docs/policy.md,
 * "Attributes"). Declared to the CEL checker with their types, so a field
 * that is not here is refused when the policy is compiled, not discovered
 * on a request.
 */
export const ATTRIBUTES = {
  subject: { id: "string", org_id: "string", client_id: "string", roles: "strings", scope: "strings" },
  actor: { id: "string", client_id: "string", chain: "strings" },
  resource: { type: "string", attributes: "attributes" },
  context: {
    method: "string",
    path: "string",
    time: "timestamp",
    ip: "string",
    dpop_bound: "bool",
    delegated: "bool",
    acr: "string",
    amr: "strings",
    mcp_method: "string",
    mcp_tool: "string",
  },
} as const;

export type AttributeKind = "string" | "bool" | "strings" | "timestamp" | "attributes";
export type Variable = keyof typeof ATTRIBUTES | "action";
export const VARIABLES: readonly Variable[] = ["subject", "actor", "resource", "action", "context"];

const CEL_TYPE: Record<AttributeKind, string> = {
  string: "string",
  bool: "bool",
  strings: "list<string>",
  timestamp: "google.protobuf.Timestamp",
  attributes: "map<string, dyn>",
};

/** The kind of `variable.field`, or undefined if the language has no such attribute. */
export function attributeKind(variable: string, field: string): AttributeKind | undefined {
  if (!Object.hasOwn(ATTRIBUTES, variable)) return undefined;
  const fields: Record<string, AttributeKind> = ATTRIBUTES[variable as keyof typeof ATTRIBUTES];
  return Object.hasOwn(fields, field) ? fields[field] : undefined;
}

// One class per variable: the checker knows each by its declared fields, and
// a value is accepted only as an instance, so nothing but what toBindings()
// builds can reach a condition. (Plain fields, not parameter properties: the
// bench runs this module in Node, which only strips types.)
class PolicySubject {
  readonly id: string;
  readonly org_id: string;
  readonly client_id: string;
  readonly roles: readonly string[];
  readonly scope: readonly string[];
  constructor(s: PolicySubject) {
    this.id = s.id;
    this.org_id = s.org_id;
    this.client_id = s.client_id;
    this.roles = s.roles;
    this.scope = s.scope;
  }
}

class PolicyActor {
  readonly id: string;
  readonly client_id: string;
  readonly chain: readonly string[];
  constructor(a: PolicyActor) {
    this.id = a.id;
    this.client_id = a.client_id;
    this.chain = a.chain;
  }
}

/** A CEL value of `resource.attributes`: whole numbers are CEL `int` (bigint), others `double`. */
export type CelAttribute = string | boolean | null | number | bigint | readonly CelAttribute[];

class PolicyResource {
  readonly type: string;
  readonly attributes: ReadonlyMap<string, CelAttribute>;
  constructor(r: PolicyResource) {
    this.type = r.type;
    this.attributes = r.attributes;
  }
}

class PolicyContext {
  readonly method: string;
  readonly path: string;
  readonly time: Date;
  readonly ip: string;
  readonly dpop_bound: boolean;
  readonly delegated: boolean;
  readonly acr: string;
  readonly amr: readonly string[];
  readonly mcp_method: string;
  readonly mcp_tool: string;
  constructor(c: PolicyContext) {
    this.method = c.method;
    this.path = c.path;
    this.time = c.time;
    this.ip = c.ip;
    this.dpop_bound = c.dpop_bound;
    this.delegated = c.delegated;
    this.acr = c.acr;
    this.amr = c.amr;
    this.mcp_method = c.mcp_method;
    this.mcp_tool = c.mcp_tool;
  }
}

/** What one decision's conditions are evaluated with: built once per request. */
export interface Bindings {
  subject: PolicySubject;
  actor: PolicyActor;
  resource: PolicyResource;
  action: string;
  context: PolicyContext;
}

function fields(kinds: Record<string, AttributeKind>): Record<string, string> {
  return Object.fromEntries(Object.entries(kinds).map(([name, kind]) => [name, CEL_TYPE[kind]]));
}

/**
 * The one CEL environment every condition is checked and run in. Its limits
 * are enforced by the parser (POLICY_LIMITS); what it cannot express (which
 * functions, macro nesting) compile-condition.ts checks on the parsed tree.
 */
export const CEL = new Environment({
  limits: {
    maxAstNodes: POLICY_LIMITS.expressionNodes,
    maxDepth: POLICY_LIMITS.expressionDepth,
    maxListElements: POLICY_LIMITS.listItems,
    maxMapEntries: POLICY_LIMITS.mapEntries,
    maxCallArguments: 8,
  },
})
  .registerType("Subject", { ctor: PolicySubject, fields: fields(ATTRIBUTES.subject) })
  .registerType("Actor", { ctor: PolicyActor, fields: fields(ATTRIBUTES.actor) })
  .registerType("Resource", { ctor: PolicyResource, fields: fields(ATTRIBUTES.resource) })
  .registerType("Context", { ctor: PolicyContext, fields: fields(ATTRIBUTES.context) })
  .registerVariable("subject", "Subject")
  .registerVariable("actor", "Actor")
  .registerVariable("resource", "Resource")
  .registerVariable("action", "string")
  .registerVariable("context", "Context");

/** A request whose attributes exceed POLICY_LIMITS: decided as a deny, never evaluated. */
export class InputTooLargeError extends Error {
  override readonly name = "InputTooLargeError";
}

const NO_ACTOR = new PolicyActor({ id: "", client_id: "", chain: [] });
const NO_STRINGS: readonly string[] = [];

function str(value: string | undefined, what: string): string {
  if (value === undefined) return "";
  if (value.length > POLICY_LIMITS.inputStringLength) throw new InputTooLargeError(what);
  return value;
}

function strs(value: readonly string[] | undefined, what: string): readonly string[] {
  if (value === undefined) return NO_STRINGS;
  if (value.length > POLICY_LIMITS.inputListItems) throw new InputTooLargeError(what);
  for (const item of value) str(item, what);
  return value;
}

function celAttribute(value: AttributeValue, what: string): CelAttribute {
  if (Array.isArray(value)) {
    if (value.length > POLICY_LIMITS.inputListItems) throw new InputTooLargeError(what);
    return value.map((v) => celAttribute(v, what));
  }
  if (typeof value === "string") return str(value, what);
  // CEL keeps int and double apart: a whole number compares as an int literal does.
  if (typeof value === "number") return Number.isSafeInteger(value) ? BigInt(value) : value;
  return value as boolean | null;
}

/** Conditions only read it: one for every request whose route names no attributes. */
const NO_ATTRIBUTES: ReadonlyMap<string, CelAttribute> = new Map();

function resourceAttributes(
  attributes: Readonly<Record<string, AttributeValue>> | undefined,
): ReadonlyMap<string, CelAttribute> {
  if (attributes === undefined) return NO_ATTRIBUTES;
  const map = new Map<string, CelAttribute>();
  const names = Object.keys(attributes);
  if (names.length > POLICY_LIMITS.inputAttributes) throw new InputTooLargeError("resource.attributes");
  for (const name of names)
    map.set(name, celAttribute(attributes[name] as AttributeValue, `resource.attributes.${name}`));
  return map;
}

/**
 * Turns a request's attributes into the values conditions run on, once per
 * decision, filling what the request lacks with "", false, [] or now, so a
 * condition never meets a missing attribute of the language.
 */
export function toBindings(input: DecisionInput): Bindings {
  const { subject, actor, resource, context } = input;
  return {
    subject: new PolicySubject({
      id: str(subject.id, "subject.id"),
      org_id: str(subject.org_id, "subject.org_id"),
      client_id: str(subject.client_id, "subject.client_id"),
      roles: strs(subject.roles, "subject.roles"),
      scope: strs(subject.scope, "subject.scope"),
    }),
    actor: actor
      ? new PolicyActor({
          id: str(actor.id, "actor.id"),
          client_id: str(actor.client_id, "actor.client_id"),
          chain: strs(actor.chain, "actor.chain"),
        })
      : NO_ACTOR,
    resource: new PolicyResource({
      type: str(resource.type, "resource.type"),
      attributes: resourceAttributes(resource.attributes),
    }),
    action: str(input.action, "action"),
    context: new PolicyContext({
      method: str(context.method, "context.method"),
      path: str(context.path, "context.path"),
      time: context.time ?? new Date(),
      ip: str(context.ip, "context.ip"),
      dpop_bound: context.dpop_bound === true,
      delegated: actor !== undefined,
      acr: str(context.acr, "context.acr"),
      amr: strs(context.amr, "context.amr"),
      mcp_method: str(context.mcp_method, "context.mcp_method"),
      mcp_tool: str(context.mcp_tool, "context.mcp_tool"),
    }),
  };
}
