/**
 * Size caps on everything an audit event echoes. Refusals are recorded for
 * requests nobody has authenticated, so any field may carry what an attacker
 * chose (a path, a grant type, a client id, a description); without caps one
 * request could write megabytes to the audit database. The caps are applied
 * in the producing Worker, before the event is queued.
 *
 * - a string is made well-formed first: a lone UTF-16 surrogate becomes
 *   U+FFFD (see wellFormedRecord for why);
 * - a string longer than its cap keeps its first characters (never half of a
 *   surrogate pair) and ends with TRUNCATED;
 * - a list keeps its first MAX_LIST_ITEMS items, each capped, and then one
 *   more item, TRUNCATED, when items were dropped;
 * - `detail` keeps at most MAX_DETAIL_KEYS keys, and its JSON is at most
 *   MAX_DETAIL_BYTES bytes of UTF-8: fields that do not fit are left out and
 *   counted under `_truncated_fields`.
 */
import type { AuditRecord } from "./audit-record.ts";
import type { AuditDetailValue } from "./record-audit.ts";

/** Appended to every value that was cut, so a reader knows it was. */
export const TRUNCATED = "…[truncated]";

export const AUDIT_CAPS = {
  /** The record's own string fields (org, subject, actor, client) and each string in `detail`. */
  fieldChars: 256,
  /** Each string inside a list in `detail` (scopes, matched rule ids). */
  listItemChars: 128,
  listItems: 16,
  /** `detail` key names come from code, but are capped too. */
  keyChars: 64,
  detailKeys: 24,
  detailBytes: 4096,
} as const;

/** The key under which `detail` reports how many fields did not fit. */
export const TRUNCATED_FIELDS_KEY = "_truncated_fields";

export function capString(raw: string, maxChars: number): string {
  // One code unit for one: the length, and so the cut below, is unchanged.
  const value = raw.toWellFormed();
  if (value.length <= maxChars) return value;
  let end = maxChars;
  const last = value.charCodeAt(end - 1);
  // A high surrogate at the cut would leave an unpaired half.
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return value.slice(0, end) + TRUNCATED;
}

export function capNullable(value: string | null | undefined): string | null {
  return value == null ? null : capString(value, AUDIT_CAPS.fieldChars);
}

function capValue(value: AuditDetailValue): AuditDetailValue {
  if (typeof value === "string") return capString(value, AUDIT_CAPS.fieldChars);
  if (Array.isArray(value)) {
    const items = value.slice(0, AUDIT_CAPS.listItems).map((item) => capString(String(item), AUDIT_CAPS.listItemChars));
    if (value.length > AUDIT_CAPS.listItems) items.push(TRUNCATED);
    return items;
  }
  // Not JSON numbers: JSON.stringify would write null anyway; say so.
  if (typeof value === "number" && !Number.isFinite(value)) return null;
  return value;
}

const encoder = new TextEncoder();

/** `detail` with every value capped, serialised to at most AUDIT_CAPS.detailBytes bytes. */
export function serialiseCappedDetail(detail: Readonly<Record<string, AuditDetailValue>>): string {
  const entries = Object.entries(detail);
  // The usual event is a few short fields: when even 3 bytes per UTF-16 unit
  // (UTF-8's most) keeps every field within the budget, the measured walk
  // below would keep every field too, so its result is this one.
  if (entries.length <= AUDIT_CAPS.detailKeys) {
    const capped: Record<string, AuditDetailValue> = {};
    let collided = false;
    for (const [rawKey, rawValue] of entries) {
      const key = capString(rawKey, AUDIT_CAPS.keyChars);
      if (Object.hasOwn(capped, key)) collided = true;
      capped[key] = capValue(rawValue);
    }
    const json = JSON.stringify(capped);
    // The walk counts `key:value,` per field: the JSON's length minus its braces, plus one comma.
    if (!collided && 2 + 3 * (json.length - 1) <= AUDIT_CAPS.detailBytes - 32) return json;
  }
  const out: Record<string, AuditDetailValue> = {};
  // Room for `,"_truncated_fields":NN` and the closing brace.
  const budget = AUDIT_CAPS.detailBytes - 32;
  let size = 2; // "{}"
  let dropped = 0;
  for (const [index, [rawKey, rawValue]] of entries.entries()) {
    if (index >= AUDIT_CAPS.detailKeys) {
      dropped += entries.length - index;
      break;
    }
    const key = capString(rawKey, AUDIT_CAPS.keyChars);
    const value = capValue(rawValue);
    const entrySize = encoder.encode(`${JSON.stringify(key)}:${JSON.stringify(value)},`).byteLength;
    if (size + entrySize > budget) {
      dropped += 1;
      continue;
    }
    out[key] = value;
    size += entrySize;
  }
  if (dropped > 0) out[TRUNCATED_FIELDS_KEY] = dropped;
  return JSON.stringify(out);
}

/**
 * A record with every string well-formed: each lone UTF-16 surrogate in a
 * field, or in a key or value inside `detail`, replaced by U+FFFD.
 *
 * Why: the hash covers the JavaScript canonical form (chain.ts), where
 * JSON.stringify writes a lone surrogate as the escape `\udc00`; SQLite's
 * json_extract, which the rows are stored through (write-audit-batch.ts),
 * decodes that escape to bytes that are not UTF-8, and D1 reads them back as
 * U+FFFD. The stored row would then differ from the hashed one, verify would
 * report a hash mismatch nobody made, and, stopping at the first broken link,
 * never report a real one after it. Anyone choosing a subject (an external
 * issuer's `sub`, a revoked subject) could do that to an org's chain.
 *
 * The producers' caps already do this; the consumer does it again because it
 * does not trust producers (an older one, or one that skipped the caps).
 * `detail` is re-serialised only when something in it changed, so the stored
 * text of every well-formed event is exactly what its producer sent.
 */
export function wellFormedRecord(record: AuditRecord): AuditRecord {
  return {
    ...record,
    id: record.id.toWellFormed(),
    orgId: record.orgId?.toWellFormed() ?? record.orgId,
    kind: record.kind.toWellFormed(),
    outcome: record.outcome.toWellFormed(),
    subject: record.subject?.toWellFormed() ?? record.subject,
    actor: record.actor?.toWellFormed() ?? record.actor,
    clientId: record.clientId?.toWellFormed() ?? record.clientId,
    detail: wellFormedDetail(record.detail),
  };
}

function wellFormedDetail(detail: string): string {
  // A raw lone surrogate outside any JSON string (or a detail that is not JSON).
  const text = detail.toWellFormed();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text;
  }
  // Escaped (`\ud800`) or raw lone surrogates inside JSON strings.
  const state = { changed: false };
  const repaired = wellFormedJson(parsed, state);
  return state.changed ? JSON.stringify(repaired) : text;
}

function wellFormedJson(value: unknown, state: { changed: boolean }): unknown {
  if (typeof value === "string") {
    if (value.isWellFormed()) return value;
    state.changed = true;
    return value.toWellFormed();
  }
  if (Array.isArray(value)) return value.map((item) => wellFormedJson(item, state));
  if (typeof value === "object" && value !== null) {
    // fromEntries defines own properties: a `__proto__` key stays a key, as JSON.parse left it.
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => {
        if (!key.isWellFormed()) state.changed = true;
        return [key.toWellFormed(), wellFormedJson(item, state)];
      }),
    );
  }
  return value;
}
