/**
 * RFC 7644 §3.5.2 PATCH, applied to a resource's current state to give its
 * next state; the handlers then write that state exactly as a PUT would, so
 * PATCH and PUT share one write path and one set of checks. Paths are the
 * attributes resources.ts keeps (case-insensitive, RFC 7644 §3.10), bare or
 * qualified with the resource's core schema URN (§3.10: `urn:…:core:2.0:User:active`
 * is `active`); an extension attribute (`urn:…`) and a core User attribute
 * this server does not store are ignored, as POST and PUT ignore them
 * (§3.3); any other unknown path is a 400 `invalidPath`.
 */
import { ScimError } from "../../../../shared/errors/scim.ts";
import {
  booleanValue,
  caseless,
  emailOf,
  type GroupState,
  isObject,
  MAX_GROUP_MEMBERS,
  memberIdsOf,
  namesSchema,
  optionalText,
  requiredText,
  SCIM_SCHEMA,
  tooManyMembers,
  type UserState,
} from "./resources.ts";

type Op = "add" | "replace" | "remove";

interface Operation {
  op: Op;
  path: string | undefined;
  value: unknown;
}

const MAX_OPERATIONS = 100;

export function patchOperations(raw: unknown): Operation[] {
  if (!isObject(raw)) throw new ScimError("invalidSyntax", "the request body must be a JSON object");
  const body = caseless(raw);
  if (!namesSchema(body.schemas, SCIM_SCHEMA.patchOp)) {
    throw new ScimError("invalidSyntax", `schemas must include ${SCIM_SCHEMA.patchOp}`);
  }
  const ops = body.operations;
  if (!Array.isArray(ops) || ops.length === 0)
    throw new ScimError("invalidSyntax", "Operations must be a non-empty list");
  if (ops.length > MAX_OPERATIONS) throw new ScimError("tooMany", `at most ${MAX_OPERATIONS} operations`);
  return ops.map((entry) => {
    const raw = isObject(entry) ? caseless(entry) : undefined;
    if (raw === undefined || typeof raw.op !== "string")
      throw new ScimError("invalidSyntax", "each operation needs an op");
    const op = raw.op.toLowerCase();
    if (op !== "add" && op !== "replace" && op !== "remove") {
      throw new ScimError("invalidSyntax", "op must be add, replace or remove");
    }
    if (raw.path !== undefined && typeof raw.path !== "string")
      throw new ScimError("invalidPath", "path must be a string");
    const path = raw.path?.trim();
    if (op === "remove" && !path) throw new ScimError("noTarget", "remove needs a path"); // §3.5.2.2
    if (op !== "remove" && raw.value === undefined) throw new ScimError("invalidValue", `${op} needs a value`);
    return { op, path: path || undefined, value: raw.value };
  });
}

/** Operations without a path carry an object whose members are each applied as if they were paths (§3.5.2.1, §3.5.2.3). */
function expand(operation: Operation): { op: Op; path: string; value: unknown }[] {
  if (operation.path !== undefined) return [{ op: operation.op, path: operation.path, value: operation.value }];
  if (!isObject(operation.value))
    throw new ScimError("invalidValue", "an operation without a path needs an object value");
  return Object.entries(caseless(operation.value))
    .filter(([key]) => key !== "schemas")
    .map(([path, value]) => ({ op: operation.op, path, value }));
}

/**
 * The path without the resource's own core schema URN (its case kept: a
 * filter's value is case-exact). Read as an extension attribute, a qualified
 * `…:User:active` was ignored: a directory's deprovisioning answered 200 and
 * left the person signed in, and a qualified `…:Group:members` removal left
 * a member an org admin.
 */
function unqualified(path: string, schema: string): string {
  const prefix = `${schema}:`;
  return path.toLowerCase().startsWith(prefix.toLowerCase()) ? path.slice(prefix.length) : path;
}

/** The User's readOnly attributes (RFC 7643 §3.1 `id`, `meta`; §4.1.2 `groups`), with their sub-attributes. */
const READ_ONLY = /^(id|meta|groups)([.[]|$)/;

/**
 * RFC 7643 §4.1's User attributes this server does not keep (all but the
 * password, which a directory must not believe it set: still `invalidPath`),
 * bare, with a sub-attribute or with a value filter. A POST or PUT naming
 * one is taken without it (§3.3); a PATCH naming one failed as a whole, so
 * Microsoft Entra's updates, which carry `title`, `addresses[type eq
 * "work"].formatted` and the like beside `active`, lost the `active` too.
 * Now a PATCH passes over it the same way.
 */
const UNKEPT_USER_ATTRIBUTE =
  /^(?:name\.(?:formatted|middlename|honorificprefix|honorificsuffix)$|(?:nickname|profileurl|title|usertype|preferredlanguage|locale|timezone|phonenumbers|ims|photos|addresses|entitlements|roles|x509certificates)(?:[.[]|$))/;

/** `emails.value`, `emails[type eq "work"].value`, `emails[type eq "work"]`: the paths directories write the address with. */
const EMAIL_PATH = /^emails(?:\[(.*)\])?(\.value)?$/;
/** The one comparison an emails filter makes here (RFC 7644 §3.4.2.2 `eq`), on the lower-cased path. */
const EMAIL_FILTER = /^\s*(type|value|primary)\s+eq\s+(?:"((?:[^"\\]|\\.)*)"|(true|false))\s*$/;

/**
 * Whether an emails path names the address this server keeps: the one
 * account address, shown as the `work`, primary email. Another (`type eq
 * "home"`) is an email this server does not keep; read as the account
 * address it replaced it, or, outside the org's domains, failed the whole
 * PATCH. A filter of any other form is 400 `invalidFilter` (§3.12).
 */
function namesTheAddress(filter: string | undefined, address: string): boolean {
  if (filter === undefined) return true;
  const match = EMAIL_FILTER.exec(filter);
  const [, attribute, quoted, bool] = match ?? [];
  const text = quoted?.replace(/\\(.)/g, "$1");
  if (attribute === "primary" && bool !== undefined) return bool === "true";
  if (attribute === "type" && text !== undefined) return text === "work";
  // RFC 7643 §4.1.2: emails' `value` is caseExact false (the path reaching here is lower-cased, as the address is).
  if (attribute === "value" && text !== undefined) return text.toLowerCase() === address;
  throw new ScimError(
    "invalidFilter",
    'an emails filter must be one `type eq "…"`, `value eq "…"` or `primary eq true`',
  );
}

/**
 * Whether an `add` to `emails` brings only emails this server does not keep:
 * each of another type than `work`, none primary. An add appends to the
 * list (RFC 7644 §3.5.2.1) and the account's one address stays the work,
 * primary one; read as a new list, `[{ type: "home", … }]` became the
 * account's address (or, outside the org's domains, failed the whole
 * PATCH), where `add` of `emails[type eq "home"].value` passes over it.
 */
function onlyUnkeptEmails(value: unknown): boolean {
  if (!Array.isArray(value) || value.length === 0 || !value.every(isObject)) return false;
  return value
    .map(caseless)
    .every((e) => e.primary !== true && typeof e.type === "string" && e.type.toLowerCase() !== "work");
}

/** Whether the operations name `active` (users.ts writes it, and the ban, only then). */
export function namesActive(operations: Operation[]): boolean {
  return operations.flatMap(expand).some(({ path }) => unqualified(path, SCIM_SCHEMA.user).toLowerCase() === "active");
}

export function patchUser(current: UserState, operations: Operation[]): UserState {
  const next = { ...current };
  for (const { op, path, value } of operations.flatMap(expand)) {
    const key = unqualified(path, SCIM_SCHEMA.user).toLowerCase();
    const email = key === "emails" ? undefined : EMAIL_PATH.exec(key);
    if (email && !namesTheAddress(email[1], next.email)) {
      // RFC 7644 §3.5.2.3: a replace whose value filter matches no record SHALL be 400 noTarget; the
      // User has the one (work) address, so `[type eq "home"]` matches none. Passing over it answered
      // 200 for a change that never happened. An `add` or `remove` still passes over it: §3.5.2.1
      // gives an add through a filter no meaning, and Microsoft Entra sends email changes as `add` of
      // `emails[type eq "…"].value` (Microsoft Q&A 1684621), beside `active`, which must still land; §3.5.2.2 asks a
      // remove only to take away what matches, which is nothing.
      if (op === "replace") throw new ScimError("noTarget", `${path} matches no email of this User`);
      continue;
    }
    // §3.5.2: a readOnly attribute is 400 mutability, not an unknown path.
    if (READ_ONLY.test(key)) throw new ScimError("mutability", `${path} is read-only`);
    if (UNKEPT_USER_ATTRIBUTE.test(key)) continue;
    if (op === "remove") {
      if (key === "externalid") next.externalId = null;
      else if (key === "displayname") next.displayName = null;
      else if (key === "name.givenname") next.givenName = null;
      else if (key === "name.familyname") next.familyName = null;
      else if (key === "name") Object.assign(next, { givenName: null, familyName: null });
      else if (["username", "active", "emails"].includes(key) || email) {
        throw new ScimError("mutability", `${path} is required and cannot be removed`);
      } else if (!key.startsWith("urn:")) throw new ScimError("invalidPath", `no attribute ${path}`);
      continue;
    }
    if (key === "active") next.active = booleanValue(value, "active");
    else if (key === "username") next.userName = requiredText(value, "userName");
    else if (key === "displayname") next.displayName = optionalText(value, "displayName");
    else if (key === "externalid") next.externalId = optionalText(value, "externalId");
    else if (key === "name.givenname") next.givenName = optionalText(value, "name.givenName");
    else if (key === "name.familyname") next.familyName = optionalText(value, "name.familyName");
    else if (key === "name") {
      if (!isObject(value)) throw new ScimError("invalidValue", "name must be an object");
      const name = caseless(value);
      if ("givenname" in name) next.givenName = optionalText(name.givenname, "name.givenName");
      if ("familyname" in name) next.familyName = optionalText(name.familyname, "name.familyName");
    } else if (key === "emails") {
      if (op !== "add" || !onlyUnkeptEmails(value)) next.email = emailOf(next.userName, value);
    } else if (email?.[2] !== undefined) next.email = emailOf(next.userName, [{ value, primary: true }]);
    else if (email) next.email = emailOf(next.userName, [value]);
    else if (!key.startsWith("urn:")) throw new ScimError("invalidPath", `no attribute ${path}`);
  }
  return next;
}

/**
 * `members[value eq "id"]`, optionally with a sub-attribute: the one member
 * filter (RFC 7644 §3.5.2 valuePath) this server reads. Member ids are
 * case-exact, so the id keeps its case.
 */
const MEMBER_FILTER = /^members\[\s*value\s+eq\s+"([^"]+)"\s*\](?:\.([^.[\]]+))?$/i;

/**
 * 400 `invalidValue` when a Group PATCH's operations together name more
 * than MAX_GROUP_MEMBERS members (resources.ts): each value of a
 * `members` operation, and each `members[value eq "…"]` removal (a
 * replace names two: the member and the one in its place). Checked
 * as the body is read, before anything owed is settled or the Group read:
 * a request past the cap is the directory's mistake whatever the state.
 */
export function requireGroupPatchWithinCap(operations: Operation[]): void {
  let named = 0;
  for (const { op, path, value } of operations.flatMap(expand)) {
    const attribute = unqualified(path, SCIM_SCHEMA.group);
    if (MEMBER_FILTER.test(attribute)) named += op === "replace" ? 2 : 1;
    else if (attribute.toLowerCase() === "members" && value !== undefined) {
      named += Array.isArray(value) ? value.length : 1;
    }
    if (named > MAX_GROUP_MEMBERS) throw tooManyMembers();
  }
}

/** The Group's readOnly attributes (RFC 7643 §3.1 `id`, `meta`), with their sub-attributes. */
const GROUP_READ_ONLY = /^(id|meta)([.[]|$)/;

export function patchGroup(current: GroupState, operations: Operation[]): GroupState {
  const next = { ...current, memberIds: [...current.memberIds] };
  for (const { op, path, value } of operations.flatMap(expand)) {
    const attribute = unqualified(path, SCIM_SCHEMA.group);
    const key = attribute.toLowerCase();
    // §3.5.2: a readOnly attribute is 400 mutability (as for a User), not an unknown path.
    if (GROUP_READ_ONLY.test(key)) throw new ScimError("mutability", `${path} is read-only`);
    const filtered = MEMBER_FILTER.exec(attribute);
    if (filtered?.[1] !== undefined) next.memberIds = patchMember(op, path, filtered[1], filtered[2], value, next);
    else if (key.startsWith("members[")) {
      // §3.12: a filter this server cannot compare, not an attribute it lacks.
      throw new ScimError("invalidFilter", 'a members filter must be `members[value eq "…"]`');
    } else if (key === "members") {
      const ids = value === undefined ? [] : memberIdsOf(Array.isArray(value) ? value : [value]);
      if (op === "add") next.memberIds = [...new Set([...next.memberIds, ...ids])];
      else if (op === "replace") next.memberIds = ids;
      // A remove with a value list removes those members; without one, every member (§3.5.2.2).
      else next.memberIds = value === undefined ? [] : next.memberIds.filter((m) => !ids.includes(m));
    } else if (key === "displayname") {
      if (op === "remove") throw new ScimError("mutability", "displayName is required and cannot be removed");
      next.displayName = requiredText(value, "displayName");
    } else if (key === "externalid") {
      next.externalId = op === "remove" ? null : optionalText(value, "externalId");
    } else if (!key.startsWith("urn:")) throw new ScimError("invalidPath", `no attribute ${path}`);
  }
  return next;
}

/**
 * One operation on `members[value eq "id"]`, answering the member ids after it.
 *
 * remove (RFC 7644 §3.5.2.2: "the values matched by the filter are
 * removed"): a person who is not a member leaves the Group as it was, 200.
 * §3.5.2.2 names no error for a filter that matches nothing (only §3.5.2.3's
 * replace does), and directories deliver at least once: Okta removes a
 * member with exactly this path and retries one whose answer it lost, and
 * Microsoft Entra's `remove` of `members` with `value: [{ value: id }]`
 * (patchGroup) likewise takes out someone already gone. A 400 there would
 * fail a removal that had landed and set the directory retrying it.
 *
 * replace (§3.5.2.3: "all matching record values SHALL be replaced"): the
 * member is exchanged for the one the value names, the rest stay; with no
 * such member, 400 `noTarget` ("no record match was made"). The value is
 * that one member record (`{ value }`, or a list of exactly it).
 *
 * add: §3.5.2.1 gives a value filter no meaning (an add to `members`
 * appends), so 400 `invalidPath` rather than a guess. A sub-attribute is
 * `value` (immutable, RFC 7643 §2.2: replace the member record instead) or
 * `display` / `$ref` (readOnly): 400 `mutability`.
 */
function patchMember(
  op: Op,
  path: string,
  id: string,
  subAttribute: string | undefined,
  value: unknown,
  current: GroupState,
): string[] {
  const ids = current.memberIds;
  if (subAttribute !== undefined) {
    if (["value", "display", "$ref"].includes(subAttribute.toLowerCase())) {
      throw new ScimError("mutability", `${path} cannot be changed; replace the member instead`);
    }
    throw new ScimError("invalidPath", `no attribute ${path}`);
  }
  if (op === "add") throw new ScimError("invalidPath", "a filtered members path is only for remove and replace");
  if (op === "remove") return ids.filter((m) => m !== id);
  if (!ids.includes(id)) throw new ScimError("noTarget", `${path} matches no member of this Group`);
  const records = Array.isArray(value) ? value : [value];
  const [replacement] = records.length === 1 ? memberIdsOf(records) : [];
  if (replacement === undefined) {
    throw new ScimError("invalidValue", "a filtered members replace takes one member, { value }");
  }
  return [...new Set(ids.map((m) => (m === id ? replacement : m)))];
}
