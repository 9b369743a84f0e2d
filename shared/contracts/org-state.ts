import type { RevocationEvent, RevocationSnapshot } from "./revocation.ts";

/**
 * The RPC surface of the per-org Durable Object (workers/org-state): what
 * every other Worker may call on `ORG_STATE.getByName(orgStateName(orgId))`.
 * Shared code asks for this interface, never for the class, so no Worker's
 * type check depends on the org-state Worker's code.
 */
export interface OrgStateRpc {
  /**
   * Records a revocation and returns the org's new revocation version.
   * Resolves only once the entry is durably stored; throws otherwise.
   */
  revoke(event: RevocationEvent, jtiExpiresAt?: number): Promise<number>;
  /** The live revocations, for gateways to cache within their staleness bound. */
  snapshot(orgId: string): Promise<RevocationSnapshot>;
}

/** The binding as shared code needs it. */
export type OrgStateNamespace = DurableObjectNamespace<OrgStateRpc & Rpc.DurableObjectBranded>;
