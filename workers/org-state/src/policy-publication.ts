import type { PolicyPublication } from "../../../shared/contracts/org-state.ts";
import { ORG_STATE_META } from "../../../shared/contracts/storage-keys.ts";
import type { OrgStore } from "./org-store.ts";
import type { RevocationSubscribers } from "./revocation-subscribers.ts";

/**
 * Makes `version` current (OrgState.setPolicyVersion). The policy lifecycle
 * writes the version's KV snapshot before calling this
 * (workers/token/src/policies/publish.ts), so a gateway that reads the new
 * number can load it. Any published version may become current again
 * (rollback): the number moves both ways, the counter only up.
 */
export function publishPolicyVersion(
  store: OrgStore,
  subscribers: RevocationSubscribers,
  version: number,
): PolicyPublication {
  if (!Number.isSafeInteger(version) || version < 1) throw new RangeError("policy version must be a positive integer");
  const sequence = store.transaction(() => {
    store.sql.exec(
      `INSERT INTO meta (key, value) VALUES (?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      ORG_STATE_META.policyVersion,
      version,
    );
    return store.sql
      .exec<{ value: number }>(
        `INSERT INTO meta (key, value) VALUES (?, 1)
         ON CONFLICT (key) DO UPDATE SET value = value + 1 RETURNING value`,
        ORG_STATE_META.policySequence,
      )
      .one().value;
  });
  // Gateways holding a push channel treat their view as current, policy
  // version included: they must hear of the switch as they would of a revocation.
  subscribers.publishPolicy(version);
  return { version, sequence };
}

/** The current policy version (null: none published) and the publish counter (0 before the first). */
export function readPolicyPublication(store: OrgStore): PolicyPublication {
  return {
    version: store.policyVersion(),
    sequence: store.metaValue(ORG_STATE_META.policySequence) ?? 0,
  };
}
