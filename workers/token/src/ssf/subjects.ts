import type { SubjectIdentifier } from "../../../../shared/contracts/ssf.ts";
import { HttpError } from "../../../../shared/errors/http.ts";

/**
 * Subject identifier formats a receiver may name, each with the members an
 * identifier of it has (RFC 9493 §3.2; SSF 1.0 §3.2 `jwt_id` and
 * `saml_assertion_id`), and `complex`, whose members are such identifiers.
 */
const SIMPLE_FORMATS: Readonly<Record<string, readonly string[]>> = {
  account: ["uri"],
  email: ["email"],
  iss_sub: ["iss", "sub"],
  opaque: ["id"],
  phone_number: ["phone_number"],
  did: ["url"],
  uri: ["uri"],
  jwt_id: ["iss", "jti"],
  saml_assertion_id: ["issuer", "assertion_id"],
};
/** SSF 1.0 §3.2: the members of a complex subject. */
const COMPLEX_MEMBERS = new Set(["user", "device", "session", "application", "tenant", "org_unit", "group"]);
const MAX_SUBJECT_JSON = 1024;

/** A receiver's subject (add/remove subject), checked; 400 `invalid_body` otherwise. */
export function parseSubject(value: unknown): SubjectIdentifier {
  if (!isObject(value) || typeof value.format !== "string") {
    throw new HttpError("invalid_body", "subject: an object with a format (RFC 9493 §3)");
  }
  if (JSON.stringify(value).length > MAX_SUBJECT_JSON) {
    throw new HttpError("invalid_body", `subject: at most ${MAX_SUBJECT_JSON} bytes of JSON`);
  }
  if (value.format === "complex") {
    const members = Object.entries(value).filter(([key]) => key !== "format");
    if (members.length === 0) throw new HttpError("invalid_body", "subject: a complex subject names members");
    for (const [key, member] of members) {
      if (!COMPLEX_MEMBERS.has(key)) throw new HttpError("invalid_body", `subject: unknown complex member ${key}`);
      checkSimple(member, `subject.${key}`);
    }
  } else {
    checkSimple(value, "subject");
  }
  return value as SubjectIdentifier;
}

function checkSimple(value: unknown, field: string): void {
  const format = isObject(value) ? value.format : undefined;
  // Own keys only: `constructor` and its kin are no format.
  const members =
    typeof format === "string" && Object.hasOwn(SIMPLE_FORMATS, format) ? SIMPLE_FORMATS[format] : undefined;
  if (!isObject(value) || members === undefined) {
    throw new HttpError("invalid_body", `${field}: an identifier of a known format (RFC 9493 §3)`);
  }
  for (const [key, member] of Object.entries(value)) {
    if (typeof member !== "string" || member.length === 0) {
      throw new HttpError("invalid_body", `${field}.${key}: a non-empty string`);
    }
  }
  // RFC 9493 §3.2: an identifier has its format's members and no other; one without them names no subject
  // an event carries, so its removal would answer success and exclude nothing.
  const missing = members.find((name) => !Object.hasOwn(value, name));
  if (missing !== undefined) throw new HttpError("invalid_body", `${field}.${missing}: required by ${format}`);
  const other = Object.keys(value).find((name) => name !== "format" && !members.includes(name));
  if (other !== undefined) throw new HttpError("invalid_body", `${field}.${other}: not a member of ${format}`);
}

/** One spelling per subject (sorted keys, recursively), so stored exclusions compare as strings. */
export function canonicalSubject(subject: SubjectIdentifier): string {
  return JSON.stringify(sortKeys(subject));
}

function sortKeys(value: unknown): unknown {
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys(value[key])]),
  );
}

/**
 * Whether an event about `subId` concerns an excluded subject: the same
 * identifier, or one of a complex subject's members (a receiver that removed
 * a user hears nothing about that user's sessions).
 */
export function isExcluded(subId: SubjectIdentifier, excluded: ReadonlySet<string>): boolean {
  if (excluded.size === 0) return false;
  if (excluded.has(canonicalSubject(subId))) return true;
  if (subId.format !== "complex") return false;
  return Object.entries(subId).some(
    ([key, member]) =>
      key !== "format" && isObject(member) && excluded.has(canonicalSubject(member as SubjectIdentifier)),
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
