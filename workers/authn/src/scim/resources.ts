/**
 * SCIM resources as this server reads and writes them (RFC 7643 §4.1 User,
 * §4.2 Group; RFC 7644 §3.4.2 ListResponse). Only the attributes an org's
 * directory needs to provision people are kept; others in a request are
 * ignored, as RFC 7644 §3.3 allows for attributes the server does not
 * support.
 */
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { ScimError } from "../../../../shared/errors/scim.ts";

export const SCIM_SCHEMA = {
  user: "urn:ietf:params:scim:schemas:core:2.0:User",
  group: "urn:ietf:params:scim:schemas:core:2.0:Group",
  listResponse: "urn:ietf:params:scim:api:messages:2.0:ListResponse",
  patchOp: "urn:ietf:params:scim:api:messages:2.0:PatchOp",
  serviceProviderConfig: "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig",
  resourceType: "urn:ietf:params:scim:schemas:core:2.0:ResourceType",
} as const;

const MAX_TEXT = 256;
/** The same shape check Better Auth applies to an address (one `@`, something on each side, a dot after). */
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** What the directory says about one person. */
export interface UserState {
  userName: string;
  externalId: string | null;
  givenName: string | null;
  familyName: string | null;
  displayName: string | null;
  /** The Better Auth account's address: the primary email, else the work one, else the first, else userName. */
  email: string;
  active: boolean;
}

export interface StoredUser extends UserState {
  id: string;
  createdAt: Date;
  updatedAt: Date;
  groups: { id: string; displayName: string }[];
}

/** A User as answered: their groups only when the answer returns them (user-store.ts userAnswer). */
export type UserView = Omit<StoredUser, "groups"> & { groups?: StoredUser["groups"] };

export interface GroupState {
  displayName: string;
  externalId: string | null;
  memberIds: string[];
}

export interface StoredGroup extends GroupState {
  id: string;
  createdAt: Date;
  updatedAt: Date;
  members: { id: string; userName: string }[];
}

/** A Group as answered: its members only when the answer returns them (group-store.ts groupAnswer). */
export type GroupView = Omit<StoredGroup, "members" | "memberIds"> & { members?: StoredGroup["members"] };

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The object with its attribute names lower-cased, for reading them as
 * RFC 7643 §2.1 has them: case-insensitive. Read by their exact case, a
 * `PUT` with `"Active": false` kept the person active and signed in, with a
 * 200. Two names that differ only in case are one attribute given twice,
 * which has no one meaning: 400 `invalidSyntax`.
 */
export function caseless(value: Record<string, unknown>): Record<string, unknown> {
  const entries: [string, unknown][] = [];
  const seen = new Set<string>();
  for (const [name, v] of Object.entries(value)) {
    const key = name.toLowerCase();
    if (seen.has(key))
      throw new ScimError("invalidSyntax", `the attribute ${key.slice(0, 64)} is given more than once`);
    seen.add(key);
    entries.push([key, v]);
  }
  // fromEntries defines each name as an own property, so `__proto__` stays data.
  return Object.fromEntries(entries);
}

/** A string attribute: absent/null → null; not a string, empty or too long → 400 invalidValue. */
export function optionalText(value: unknown, name: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string" || value.trim() === "" || value.length > MAX_TEXT) {
    throw new ScimError("invalidValue", `${name} must be a non-empty string of at most ${MAX_TEXT} characters`);
  }
  return value.trim();
}

export function requiredText(value: unknown, name: string): string {
  const text = optionalText(value, name);
  if (text === null) throw new ScimError("invalidValue", `${name} is required`);
  return text;
}

export function booleanValue(value: unknown, name: string): boolean {
  // RFC 7643 §2.3.2 booleans; some directories send them as strings ("False"), which §3.5.2 PATCH values allow for.
  if (typeof value === "boolean") return value;
  if (typeof value === "string" && /^(true|false)$/i.test(value)) return value.toLowerCase() === "true";
  throw new ScimError("invalidValue", `${name} must be a boolean`);
}

export function emailOf(userName: string, emails: unknown): string {
  let chosen: string | undefined;
  if (emails !== undefined && emails !== null) {
    if (!Array.isArray(emails) || !emails.every(isObject)) throw new ScimError("invalidValue", "emails must be a list");
    const entries = emails.map(caseless);
    // The work address before another type's: without a primary, a list
    // leading with a home address made that the account's (or, outside the
    // org's domains, refused the whole User).
    const primary =
      entries.find((e) => e.primary === true) ??
      entries.find((e) => typeof e.type === "string" && e.type.toLowerCase() === "work") ??
      entries[0];
    if (primary !== undefined) chosen = requiredText(primary.value, "emails.value");
  }
  const email = (chosen ?? userName).toLowerCase();
  if (!EMAIL.test(email)) {
    throw new ScimError("invalidValue", "a User needs an email address (emails, or a userName that is one)");
  }
  return email;
}

/**
 * A full User from a POST or PUT body (RFC 7644 §3.3, §3.5.1). `active`
 * left out is true for a new User and unchanged for a replaced one: a PUT
 * that does not mention it must not bring back a person the directory
 * deactivated.
 */
export function userStateFromBody(raw: unknown, activeByDefault = true): UserState {
  if (!isObject(raw)) throw new ScimError("invalidSyntax", "the request body must be a JSON object");
  const body = caseless(raw);
  requireSchema(body, SCIM_SCHEMA.user);
  const userName = requiredText(body.username, "userName");
  const rawName = body.name === undefined || body.name === null ? {} : body.name;
  if (!isObject(rawName)) throw new ScimError("invalidValue", "name must be an object");
  const name = caseless(rawName);
  return {
    userName,
    externalId: optionalText(body.externalid, "externalId"),
    givenName: optionalText(name.givenname, "name.givenName"),
    familyName: optionalText(name.familyname, "name.familyName"),
    displayName: optionalText(body.displayname, "displayName"),
    email: emailOf(userName, body.emails),
    active: body.active === undefined ? activeByDefault : booleanValue(body.active, "active"),
  };
}

/** A full Group from a POST or PUT body. */
export function groupStateFromBody(raw: unknown): GroupState {
  if (!isObject(raw)) throw new ScimError("invalidSyntax", "the request body must be a JSON object");
  const body = caseless(raw);
  requireSchema(body, SCIM_SCHEMA.group);
  return {
    displayName: requiredText(body.displayname, "displayName"),
    externalId: optionalText(body.externalid, "externalId"),
    memberIds: memberIdsOf(body.members ?? []),
  };
}

/**
 * The most members a Group holds, and so the most one Group write (POST,
 * PUT, or a PATCH's operations together) may name. A write's D1 statements
 * and its role cut-offs grow with the people it touches: its ids go in
 * statements of at most 90 (group-store.ts: D1 binds at most 100
 * parameters per statement), and a DELETE, a rename into or out of
 * `admin`, or an empty PUT changes every member's role, one owed row and
 * one cut-off each (roles.ts, OrgState.revokeSubjects in calls of up to
 * 500 people). Bounding only what a write names left PATCH `add`s free to
 * grow a Group without limit, and then one DELETE or rename touched all of
 * it; bounding the Group too keeps every write within twice the cap (the
 * members before it and after it, group-store.ts writeGroup). Okta and
 * Microsoft Entra send a large group's membership as PATCHes of about 100
 * members each (AWS IAM Identity Center, which both provision, refuses
 * more than 100 changes a request), far under it. RFC 7644 §3.12: `400
 * invalidValue` (`tooMany` is for a filter's results).
 */
export const MAX_GROUP_MEMBERS = 1000;

/** A write naming more than the cap: refused as the body is read, before anything is read or written. */
export function tooManyMembers(): ScimError {
  return new ScimError(
    "invalidValue",
    `a Group write names at most ${MAX_GROUP_MEMBERS} members; send the rest in further PATCH requests`,
  );
}

/** A write that would leave the Group past the cap: refused before anything is written. */
export function groupTooLarge(): ScimError {
  return new ScimError("invalidValue", `a Group has at most ${MAX_GROUP_MEMBERS} members`);
}

export function memberIdsOf(members: unknown): string[] {
  if (!Array.isArray(members) || !members.every(isObject)) {
    throw new ScimError("invalidValue", "members must be a list of { value }");
  }
  if (members.length > MAX_GROUP_MEMBERS) throw tooManyMembers();
  return [...new Set(members.map((m) => requiredText(caseless(m).value, "members.value")))];
}

/**
 * Whether a body's `schemas` list names `urn`, in any case. RFC 7644 §3.10:
 * "All facets (URN, attribute, and sub-attribute name) of the fully encoded
 * attribute name are case insensitive", so `URN:…:core:2.0:USER:active` is
 * `active` (patch.ts); the same URN in `schemas` names the same schema.
 * Compared exactly, a body that named its schema in another case was 400
 * invalidSyntax while its attribute paths in that case were read.
 */
export function namesSchema(schemas: unknown, urn: string): boolean {
  const wanted = urn.toLowerCase();
  return Array.isArray(schemas) && schemas.some((s) => typeof s === "string" && s.toLowerCase() === wanted);
}

/** RFC 7643 §3: every resource names its schemas; a body for another resource type is refused. `body` is caseless. */
function requireSchema(body: Record<string, unknown>, schema: string): void {
  if (!namesSchema(body.schemas, schema)) {
    throw new ScimError("invalidSyntax", `schemas must include ${schema}`);
  }
}

/** Whether a PUT body names `active` (RFC 7643 §2.1: in any case). */
export function bodyNamesActive(body: unknown): boolean {
  return isObject(body) && Object.keys(body).some((name) => name.toLowerCase() === "active");
}

/** The person's Better Auth display name: displayName, else given and family name, else userName. */
export function betterAuthName(state: UserState): string {
  const full = [state.givenName, state.familyName].filter(Boolean).join(" ");
  return state.displayName ?? (full || state.userName);
}

function location(issuer: string, kind: "Users" | "Groups", id: string): string {
  return `${issuer}${ENDPOINT.scim}/${kind}/${encodeURIComponent(id)}`;
}

/** `groups` left out when not read (user-store.ts userAnswer: the answer's projection drops them). */
export function userResource(issuer: string, u: UserView) {
  return {
    schemas: [SCIM_SCHEMA.user],
    id: u.id,
    ...(u.externalId ? { externalId: u.externalId } : {}),
    userName: u.userName,
    name: {
      ...(u.givenName ? { givenName: u.givenName } : {}),
      ...(u.familyName ? { familyName: u.familyName } : {}),
    },
    displayName: betterAuthName(u),
    emails: [{ value: u.email, primary: true, type: "work" }],
    active: u.active,
    ...(u.groups
      ? {
          groups: u.groups.map((g) => ({
            value: g.id,
            display: g.displayName,
            $ref: location(issuer, "Groups", g.id),
          })),
        }
      : {}),
    meta: {
      resourceType: "User",
      created: u.createdAt.toISOString(),
      lastModified: u.updatedAt.toISOString(),
      location: location(issuer, "Users", u.id),
    },
  };
}

/** `members` left out when not read (group-store.ts groupAnswer: the answer's projection drops them). */
export function groupResource(issuer: string, g: GroupView) {
  return {
    schemas: [SCIM_SCHEMA.group],
    id: g.id,
    ...(g.externalId ? { externalId: g.externalId } : {}),
    displayName: g.displayName,
    ...(g.members
      ? {
          members: g.members.map((m) => ({ value: m.id, display: m.userName, $ref: location(issuer, "Users", m.id) })),
        }
      : {}),
    meta: {
      resourceType: "Group",
      created: g.createdAt.toISOString(),
      lastModified: g.updatedAt.toISOString(),
      location: location(issuer, "Groups", g.id),
    },
  };
}

export function listResponse<T>(resources: T[], total: number, startIndex: number) {
  return {
    schemas: [SCIM_SCHEMA.listResponse],
    totalResults: total,
    startIndex,
    itemsPerPage: resources.length,
    Resources: resources,
  };
}
