import type { AuditEventInput } from "../../../../shared/audit/record-audit.ts";
import {
  type SavedTokenRequest,
  type SavedTokenResult,
  VAULT_REFRESH_MARGIN_SECONDS,
} from "../../../../shared/contracts/vault.ts";
import { type ConnectionRow, candidateConnections, tokenPlace } from "./connections.ts";
import { VaultError } from "./errors.ts";
import { RefreshImpossible, refreshConnection } from "./refresh.ts";
import { openField } from "./sealed-field.ts";
import { orgDataKey } from "./vault-key.ts";

export interface SavedTokenOutcome {
  result: SavedTokenResult;
  /** The audit event for this answer: ids and outcome, never a token. */
  audit: AuditEventInput;
  /** The connection that served, to mark used off the response path. */
  used?: ConnectionRow;
}

/**
 * Whether to refresh before use: inside the margin before expiry, but never
 * earlier than half the token's lifetime (from when it was saved), so a
 * provider issuing short-lived tokens does not get a refresh on every request.
 */
function needsRefresh(row: ConnectionRow, now: number): boolean {
  if (row.expiresAt === null) return false;
  const expiresAt = row.expiresAt.getTime();
  const margin = Math.min(VAULT_REFRESH_MARGIN_SECONDS * 1000, (expiresAt - row.updatedAt.getTime()) / 2);
  return expiresAt - margin <= now;
}

/**
 * The saved token for one gateway request. Who may use which connection is
 * decided here, by the holder of the key, from strongly consistent D1 rows:
 * the subject's own connection for the resource first, then the org's; an
 * agent must be bound to it (vault_connection_agent), or nothing is given —
 * default deny. A token about to expire (or refused upstream:
 * `forceRefresh`) is refreshed first.
 */
export async function savedToken(
  db: D1Database,
  secret: string,
  request: SavedTokenRequest,
): Promise<SavedTokenOutcome> {
  const base = {
    kind: "vault.token_used" as const,
    orgId: request.orgId,
    subject: request.subject,
    clientId: request.agentClientId,
  };
  const detail = { resource: request.resource, decision_id: request.decisionId };
  const refuse = (
    refusal: Exclude<SavedTokenResult, { ok: true }>["refusal"],
    row?: ConnectionRow,
    cause?: string,
  ): SavedTokenOutcome => ({
    result: { ok: false, refusal, ...(row ? { connectionId: row.id } : {}) },
    audit: {
      ...base,
      kind: "vault.token_refused",
      outcome: "refused",
      detail: { ...detail, error: refusal, ...(row ? { connection_id: row.id } : {}), ...(cause ? { cause } : {}) },
    },
  });

  const candidates = await candidateConnections(db, request);
  if (candidates.length === 0) return refuse("no_saved_connection");
  const usable = candidates.find((c) => c.bound);
  if (!usable) return refuse("saved_connection_not_permitted", candidates[0]?.row);

  let row = usable.row;
  let refreshed = false;
  try {
    if (request.forceRefresh || needsRefresh(row, Date.now())) {
      try {
        row = await refreshConnection(db, secret, row);
        refreshed = true;
      } catch (error) {
        if (
          !(error instanceof RefreshImpossible || (error instanceof VaultError && error.code === "ERR_VAULT_UPSTREAM"))
        )
          throw error;
        // A token still inside its lifetime is used even if its early refresh failed.
        if (request.forceRefresh || (row.expiresAt !== null && row.expiresAt.getTime() <= Date.now()))
          return refuse("saved_connection_expired", row, error.message);
      }
    }
    const key = await orgDataKey(db, secret, row.orgId);
    const accessToken = await openField(key, tokenPlace(row, "access_token"), row.accessTokenSealed);
    return {
      result: { ok: true, authorization: `Bearer ${accessToken}`, connectionId: row.id },
      audit: {
        ...base,
        outcome: "issued",
        detail: { ...detail, connection_id: row.id, owner_kind: row.ownerKind, refreshed },
      },
      used: row,
    };
  } catch (error) {
    if (!(error instanceof VaultError)) throw error;
    console.error("vault: saved token unavailable", error.message);
    return refuse("vault_unavailable", row, error.code);
  }
}
