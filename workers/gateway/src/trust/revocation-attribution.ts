import type { RevocationKind } from "../../../../shared/contracts/revocation.ts";

/*
 * Which entries of an org's revocations say whose they are, as the object
 * records them (docs/revocation.md, "Bounds"): an RFC 7009 `jti` entry its
 * token's client and `iat`, a browser `grant` entry its person and client.
 * The view (revocation-index.ts) keeps those in per-client and per-person
 * tables that a later cut-off may drop; anything without the attribution is
 * held in the shared table until it expires, never dropped early.
 */

/** A jti entry's token as the object attributes it, or null: anything else is held unattributed, never dropped early. */
export function attribution(
  kind: RevocationKind,
  clientId: string | undefined,
  issuedAt: number | undefined,
): { clientId: string; issuedAt: number } | null {
  if (kind !== "jti" || typeof clientId !== "string" || clientId.length === 0) return null;
  return typeof issuedAt === "number" && Number.isSafeInteger(issuedAt) ? { clientId, issuedAt } : null;
}

/** A browser grant entry's person and client as the object attributes them, or null: anything else is held unattributed. */
export function grantAttribution(
  kind: RevocationKind,
  clientId: string | undefined,
  subject: string | undefined,
): { subject: string; clientId: string } | null {
  if (kind !== "grant" || typeof clientId !== "string" || clientId.length === 0) return null;
  return typeof subject === "string" && subject.length > 0 ? { subject, clientId } : null;
}
