import { HttpError } from "../../../../shared/errors/http.ts";
import { isFilterScalar } from "../../../../shared/policy/filter.ts";
import type { AttributeValue, DecisionInput } from "../../../../shared/policy/types.ts";

/** Bounds of a request an operator writes (what-if, test cases); the PDP holds its own per-decision limits. */
const MAX_STRING = 1024;
const MAX_LIST = 256;
const MAX_ATTRIBUTES = 64;

/** 400 `invalid_body` naming the field, e.g. `tests[2].request.subject.roles: must be a list of strings`. */
export function invalidPolicyInput(field: string, problem: string): never {
  throw new HttpError("invalid_body", `${field}: ${problem}`);
}

type Reader = (value: unknown, at: string) => unknown;

const string: Reader = (value, at) => {
  if (typeof value !== "string" || value.length > MAX_STRING) {
    invalidPolicyInput(at, `must be a string of at most ${MAX_STRING} characters`);
  }
  return value;
};

const strings: Reader = (value, at) => {
  if (!Array.isArray(value) || value.length > MAX_LIST)
    invalidPolicyInput(at, `must be a list of at most ${MAX_LIST} strings`);
  value.forEach((item, i) => string(item, `${at}[${i}]`));
  return value;
};

const bool: Reader = (value, at) => {
  if (typeof value !== "boolean") invalidPolicyInput(at, "must be true or false");
  return value;
};

/** RFC 3339 (an ISO 8601 date-time with a zone), as JSON carries a CEL timestamp. */
const time: Reader = (value, at) => {
  if (typeof value !== "string" || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    invalidPolicyInput(at, "must be an RFC 3339 date-time, e.g. 2026-01-31T09:00:00Z");
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) invalidPolicyInput(at, "is not a real date-time");
  return date;
};

const attributes: Reader = (value, at) => {
  if (!isRecord(value) || Object.keys(value).length > MAX_ATTRIBUTES) {
    invalidPolicyInput(at, `must be an object of at most ${MAX_ATTRIBUTES} attributes`);
  }
  for (const [name, item] of Object.entries(value)) {
    const ok = Array.isArray(item)
      ? item.length <= MAX_LIST && item.every(isFilterScalar)
      : isFilterScalar(item) && (typeof item !== "string" || item.length <= MAX_STRING);
    if (!ok) invalidPolicyInput(`${at}.${name}`, "must be a scalar or a list of scalars");
  }
  return value as Record<string, AttributeValue>;
};

/** The fields of each part of a request, as shared/policy/types.ts declares them. */
const SUBJECT = { id: string, org_id: string, client_id: string, roles: strings, scope: strings };
const ACTOR = { id: string, client_id: string, chain: strings };
const RESOURCE = { type: string, attributes };
const CONTEXT = {
  method: string,
  path: string,
  time,
  ip: string,
  dpop_bound: bool,
  acr: string,
  amr: strings,
  mcp_method: string,
  mcp_tool: string,
};

function readPart(
  value: unknown,
  at: string,
  fields: Record<string, Reader>,
  required: readonly string[],
): Record<string, unknown> {
  if (!isRecord(value)) invalidPolicyInput(at, "must be an object");
  const out: Record<string, unknown> = {};
  for (const [name, item] of Object.entries(value)) {
    const read = Object.hasOwn(fields, name) ? fields[name] : undefined;
    if (!read) invalidPolicyInput(`${at}.${name}`, `unknown attribute (known: ${Object.keys(fields).join(", ")})`);
    out[name] = read(item, `${at}.${name}`);
  }
  for (const name of required) if (out[name] === undefined) invalidPolicyInput(`${at}.${name}`, "required");
  return out;
}

/**
 * A decision request an operator wrote (what-if, a test case) as the PDP's
 * DecisionInput (shared/policy/types.ts), in JSON: `subject`, optional
 * `actor` (a delegated request), `resource`, `action`, optional `context`
 * (`time` as an RFC 3339 string). Attributes left out read as the gateway's
 * absent ones do: "", false, [] (and `context.time` now). Unknown
 * attributes are refused, so a misspelt one cannot silently read as absent.
 */
export function readDecisionRequest(value: unknown, at: string): DecisionInput {
  if (!isRecord(value)) invalidPolicyInput(at, "must be an object");
  for (const key of Object.keys(value)) {
    if (!["subject", "actor", "resource", "action", "context"].includes(key))
      invalidPolicyInput(`${at}.${key}`, "unknown field");
  }
  const subject = readPart(value.subject, `${at}.subject`, SUBJECT, ["id", "org_id"]);
  const actor = value.actor === undefined ? undefined : readPart(value.actor, `${at}.actor`, ACTOR, ["id"]);
  const resource = readPart(value.resource, `${at}.resource`, RESOURCE, ["type"]);
  const action = string(value.action, `${at}.action`) as string;
  if (action === "") invalidPolicyInput(`${at}.action`, "must not be empty");
  const context = value.context === undefined ? {} : readPart(value.context, `${at}.context`, CONTEXT, []);
  return {
    subject: {
      id: subject.id as string,
      org_id: subject.org_id as string,
      client_id: (subject.client_id as string | undefined) ?? "",
      roles: (subject.roles as string[] | undefined) ?? [],
      scope: (subject.scope as string[] | undefined) ?? [],
    },
    ...(actor
      ? {
          actor: {
            id: actor.id as string,
            client_id: (actor.client_id as string | undefined) ?? "",
            chain: (actor.chain as string[] | undefined) ?? [actor.id as string],
          },
        }
      : {}),
    resource: resource as unknown as DecisionInput["resource"],
    action,
    context: { method: "", path: "", ...context } as DecisionInput["context"],
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
