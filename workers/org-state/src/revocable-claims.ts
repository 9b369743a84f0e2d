import type { RevocableClaims } from "../../../shared/contracts/revocation.ts";
import { isDerivedFrom } from "../../../shared/revocation/derived-from.ts";
import { isGrantChainClients } from "../../../shared/revocation/grant-chain-clients.ts";

/**
 * How deep an `act` chain (RFC 8693 §4.1) a check walks: far past any token
 * the issuer signs (a grant chain is at most MAX_GRANT_CHAIN_LENGTH links),
 * so only a crafted call reaches it, or a cycle, which RPC's structured
 * clone carries and which would hold the object in its loop for good.
 */
const MAX_ACT_DEPTH = 32;

/**
 * Refuses claims a revocation check cannot answer for: without a `jti`,
 * `sub`, `client_id` or a finite `iat` every lookup compares with NULL and
 * matches nothing, so a revoked subject read "not revoked" (fail open).
 * A refusal is a failed read to the caller, which fails closed.
 */
export function assertRevocableClaims(claims: unknown): asserts claims is RevocableClaims {
  if (!isRevocableClaims(claims)) {
    throw new RangeError(
      "claims need jti, sub, client_id and org_id strings, a numeric iat, and well-formed sid, grant_id, grant_chain, grant_chain_clients, derived_from and act",
    );
  }
}

function isRevocableClaims(value: unknown): boolean {
  if (!isObject(value)) return false;
  const { jti, sub, client_id, org_id, iat, sid, grant_id, grant_chain, grant_chain_clients, derived_from, act } =
    value;
  return (
    [jti, sub, client_id, org_id].every(isText) &&
    typeof iat === "number" &&
    Number.isFinite(iat) &&
    (sid === undefined || isText(sid)) &&
    (grant_id === undefined || isText(grant_id)) &&
    (grant_chain === undefined || (Array.isArray(grant_chain) && grant_chain.every(isText))) &&
    // A client we could not line up with the chain could let a cut-off of the grant's real client miss it.
    (grant_chain_clients === undefined || isGrantChainClients(grant_chain_clients, grant_chain)) &&
    // An ancestor we could not read would let its revocation miss the token (RFC 7009 §2.1).
    (derived_from === undefined || isDerivedFrom(derived_from)) &&
    (act === undefined || isActChain(act))
  );
}

function isActChain(value: unknown): boolean {
  let actor = value;
  for (let depth = 0; actor !== undefined; depth++) {
    if (depth >= MAX_ACT_DEPTH || !isObject(actor)) return false;
    if (actor.client_id !== undefined && !isText(actor.client_id)) return false;
    actor = actor.act;
  }
  return true;
}

function isText(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
