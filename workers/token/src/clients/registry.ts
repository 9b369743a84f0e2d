import { FIRST_PARTY_CLIENT_ID } from "../../../../shared/contracts/tokens.ts";
import type { ClientAuthContext, RegisteredClient } from "./types.ts";

/**
 * The first-party client the edge pages use. Public (RFC 6749 §2.1: a
 * browser cannot keep a secret), so it never authenticates; what it may do
 * is limited by the grants, not by a credential.
 */
const FIRST_PARTY_CLIENT: RegisteredClient = {
  clientId: FIRST_PARTY_CLIENT_ID,
  type: "public",
  authMethod: "none",
};

/** Longest client_id looked up; longer ones are unknown without a lookup. */
const MAX_CLIENT_ID_LENGTH = 256;

/**
 * Finds a registered client by its id. Asynchronous and given the Worker's
 * context because registered clients are stored per org; the first-party
 * client is built in.
 */
export async function findClient(clientId: string, _context: ClientAuthContext): Promise<RegisteredClient | undefined> {
  if (clientId.length > MAX_CLIENT_ID_LENGTH) return undefined;
  return clientId === FIRST_PARTY_CLIENT.clientId ? FIRST_PARTY_CLIENT : undefined;
}
