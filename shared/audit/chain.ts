/**
 * The hash chain over audit rows (docs/audit.md, "Hash chain"). Each org's
 * events form one chain; events that name no org, and those of the platform
 * operators, form the chain PLATFORM_ORG_ID. A row's hash covers every field
 * the row stores and the previous row's hash, so an edited, deleted or
 * reordered row breaks the chain at that point. Written by
 * shared/audit/write-audit-batch.ts, checked by
 * workers/token/src/audit/verify-chain.ts.
 */
import { PLATFORM_ORG_ID } from "../contracts/tokens.ts";
import type { AuditRecord } from "./audit-record.ts";

/** Names the canonical form below; a new form would get a new name, and old rows keep theirs. */
export const CHAIN_FORMAT = "mono-auth-audit/v1";

/** The `prev_hash` of a chain's first row (seq 1). */
export const GENESIS_HASH = "0".repeat(64);

/**
 * The chain an event belongs to: its org, or PLATFORM_ORG_ID when it names
 * none (null or empty). No organization has that id (shared/contracts/tokens.ts).
 */
export function chainOf(orgId: string | null): string {
  return orgId ? orgId : PLATFORM_ORG_ID;
}

/** A record with its place in its chain: what one audit_event row holds. */
export interface ChainedRecord extends AuditRecord {
  chain: string;
  seq: number;
  prevHash: string;
}

/** A chained record with its own hash: everything one audit_event row stores. */
export interface ChainedRow extends ChainedRecord {
  hash: string;
}

/**
 * The bytes a row's hash is computed over: the UTF-8 of the JSON array
 * [CHAIN_FORMAT, chain, seq, prev_hash, id, occurred_at, org_id, kind,
 * outcome, subject, actor, client_id, detail], values as stored (detail is
 * the stored JSON text, occurred_at integer milliseconds, absent values
 * null), serialised by ECMAScript JSON.stringify (no spaces; only `"`, `\`
 * and control characters escaped). A verifier in any language can rebuild
 * it from an export of the table.
 */
export function canonicalForm(row: ChainedRecord): string {
  return JSON.stringify([
    CHAIN_FORMAT,
    row.chain,
    row.seq,
    row.prevHash,
    row.id,
    row.occurredAt,
    row.orgId,
    row.kind,
    row.outcome,
    row.subject,
    row.actor,
    row.clientId,
    row.detail,
  ]);
}

const encoder = new TextEncoder();

/** SHA-256 of the canonical form, lower-case hex. */
export function rowHash(row: ChainedRecord): Promise<string> {
  return canonicalHash(canonicalForm(row));
}

/** SHA-256 of a canonical form already built (canonicalForm), lower-case hex. */
export async function canonicalHash(canonical: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(canonical)));
  let hex = "";
  for (const byte of digest) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

/** What a hash looks like, for checking input that claims to be one. */
export const HASH_PATTERN = /^[0-9a-f]{64}$/;

/** Names the head's MAC input; a new form would get a new name. */
export const HEAD_MAC_FORMAT = "mono-auth-audit-head/v1";

/**
 * The MAC of a chain's head record (audit_chain_head): HMAC-SHA256, lower-case
 * hex, over the UTF-8 of JSON.stringify([HEAD_MAC_FORMAT, chain, seq, hash]),
 * keyed by a key only the token Worker holds (workers/token/src/audit/head-key.ts).
 * The row hashes need no key, so anyone who can write the audit database
 * could delete a chain's last rows and set its head to the new last row
 * without recomputing a hash; the MAC makes that head one they cannot write.
 */
export async function headMac(key: CryptoKey, head: { chain: string; seq: number; hash: string }): Promise<string> {
  const input = encoder.encode(JSON.stringify([HEAD_MAC_FORMAT, head.chain, head.seq, head.hash]));
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, input));
  let hex = "";
  for (const byte of mac) hex += byte.toString(16).padStart(2, "0");
  return hex;
}
