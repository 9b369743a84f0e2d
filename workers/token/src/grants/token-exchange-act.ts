import type { ActorClaim } from "../../../../shared/contracts/tokens.ts";

/** How many actors a chain names: 0 without `act`. */
export function actorDepth(act: ActorClaim | undefined): number {
  let depth = 0;
  for (let current = act; current; current = current.act) depth += 1;
  return depth;
}

/**
 * RFC 8693 §4.1: the outermost `act` is the current actor; the actors
 * before it nest inside, most recent first ("a chain of delegation").
 */
export function nestActor(actor: { sub: string; client_id: string }, prior: ActorClaim | undefined): ActorClaim {
  return { sub: actor.sub, client_id: actor.client_id, ...(prior ? { act: prior } : {}) };
}
