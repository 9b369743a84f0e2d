import { base64url } from "jose";
import { and, eq, gt, lte, type SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { VAULT_CONNECT_LINK } from "../../../../shared/contracts/vault.ts";
import { vaultConnectLink } from "../../../../shared/db/vault-schema.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import type { OwnerKind } from "./connections.ts";

export type ConnectLinkRow = typeof vaultConnectLink.$inferSelect;

/** The longest link value we look up: ours are 43 characters (32 random bytes, base64url). */
const MAX_LINK_LENGTH = 128;

async function linkHash(link: string): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(link))));
}

export function invalidLink(): HttpError {
  // One answer for unknown, used, expired and another org's: the page cannot tell a guess from a spent link.
  return new HttpError("invalid_connect_link", "this connect link is unknown, already used or expired");
}

export interface StartConnectLink {
  orgId: string;
  providerId: string;
  ownerKind: OwnerKind;
  ownerId: string;
  /** `operator:<client_id>`: who asked, for the audit of the confirmation. */
  startedBy: string;
}

/**
 * An operator client's connection flow: no state goes to the provider yet,
 * only a single-use link to our confirmation page (VAULT_CONNECT_LINK), whose
 * value is returned once and stored as its hash. Links nobody confirmed are
 * dropped as new ones start (the org's only).
 */
export async function createConnectLink(
  db: D1Database,
  issuer: string,
  start: StartConnectLink,
): Promise<{ confirmationUrl: string; expiresAt: Date }> {
  const link = base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
  const now = Date.now();
  const expiresAt = new Date(now + VAULT_CONNECT_LINK.ttlSeconds * 1000);
  const orm = drizzle(db);
  await orm.batch([
    orm
      .delete(vaultConnectLink)
      .where(and(eq(vaultConnectLink.orgId, start.orgId), lte(vaultConnectLink.expiresAt, new Date(now)))),
    orm.insert(vaultConnectLink).values({
      linkHash: await linkHash(link),
      ...start,
      expiresAt,
      createdAt: new Date(now),
    }),
  ]);
  const url = new URL(`${issuer}${VAULT_CONNECT_LINK.path(start.orgId)}`);
  url.searchParams.set(VAULT_CONNECT_LINK.param, link);
  return { confirmationUrl: url.toString(), expiresAt };
}

/** A live link of this org, or 400 `invalid_connect_link`; nothing is changed. */
export async function findConnectLink(db: D1Database, orgId: string, link: string): Promise<ConnectLinkRow> {
  if (!link || link.length > MAX_LINK_LENGTH) throw invalidLink();
  const row = await drizzle(db)
    .select()
    .from(vaultConnectLink)
    .where(
      and(
        eq(vaultConnectLink.linkHash, await linkHash(link)),
        eq(vaultConnectLink.orgId, orgId),
        gt(vaultConnectLink.expiresAt, new Date()),
      ),
    )
    .get();
  if (!row) throw invalidLink();
  return row;
}

/**
 * Spends a link: one conditional DELETE, so of two confirmations racing for
 * it exactly one gets the row, as the callback spends a state. `still` is
 * what must hold at the moment of the write (the confirmer's session and
 * role, checked just before by the caller): undefined when the link was
 * spent, expired or `still` no longer held — the caller tells which.
 */
export async function claimConnectLink(
  db: D1Database,
  orgId: string,
  link: string,
  still: SQL,
): Promise<ConnectLinkRow | undefined> {
  if (!link || link.length > MAX_LINK_LENGTH) throw invalidLink();
  return drizzle(db)
    .delete(vaultConnectLink)
    .where(
      and(
        eq(vaultConnectLink.linkHash, await linkHash(link)),
        eq(vaultConnectLink.orgId, orgId),
        gt(vaultConnectLink.expiresAt, new Date()),
        still,
      ),
    )
    .returning()
    .get();
}
