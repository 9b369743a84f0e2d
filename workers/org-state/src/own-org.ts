import { orgStateName } from "../../../shared/contracts/storage-keys.ts";

/** The stable code of OrgMismatchError; it is the start of the message, which is what crosses RPC. */
export const ERR_ORG_STATE_WRONG_ORG = "ERR_ORG_STATE_WRONG_ORG";

/**
 * A call naming an org other than the one this object is. Each org's
 * object is named orgStateName(orgId), so a mismatch is a caller's bug (or
 * a crafted call): answering it would record org B's revocation in org A's
 * state, or serve A's entries as B's, and the alarm would mirror A's
 * snapshot under B's KV key.
 */
export class OrgMismatchError extends Error {
  readonly code = ERR_ORG_STATE_WRONG_ORG;

  constructor(named: string) {
    super(`${ERR_ORG_STATE_WRONG_ORG}: this object does not hold org ${JSON.stringify(named.slice(0, 64))}`);
    this.name = "OrgMismatchError";
  }
}

/**
 * Whether `orgId` is the org this object holds. Its name, when the runtime
 * gives it (ids from getByName and idFromName, which is how every caller
 * reaches it: shared/contracts/org-state.ts), is the authority; without one
 * (an id from idFromString, or a runtime that does not pass names), the org
 * recorded by the first revocation is.
 */
export function isOwnOrg(objectName: string | undefined, recordedOrg: string | undefined, orgId: unknown): boolean {
  if (typeof orgId !== "string") return false;
  if (objectName !== undefined) return orgStateName(orgId) === objectName;
  return recordedOrg === undefined || recordedOrg === orgId;
}
