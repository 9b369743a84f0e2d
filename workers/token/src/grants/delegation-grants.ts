import { and, desc, eq, gt, isNull, or, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { member } from "../../../../shared/db/auth-schema.ts";
import { beforePosition, type PageRequest } from "../../../../shared/db/keyset-page.ts";
import { delegationGrant, oauthClient } from "../../../../shared/db/machine-schema.ts";
import { OAuthError } from "../../../../shared/errors/oauth.ts";
import { preparedPerDatabase } from "../clients/prepared-query.ts";

/**
 * Delegation grants (`delegation_grant`): a person's consent that an agent
 * client may act for them, for some scopes at some audiences, until an
 * expiry or a revocation. A token exchange that makes a client the current
 * actor (`act`, RFC 8693 §4.1) for a subject honours only a live grant; the
 * admin API (admin/delegation-grants.ts) creates, lists and revokes them.
 */
export interface DelegationGrant {
  id: string;
  orgId: string;
  /** The user the agent acts for (the token's `sub`). */
  subject: string;
  actorClientId: string;
  scopes: readonly string[];
  audiences: readonly string[];
  status: "active" | "revoked";
  expiresAt: Date | null;
  createdBy: string;
  createdAt: Date;
  revokedAt: Date | null;
}

/** Whose grants to whom: the org, the subject and the acting client. */
export type DelegationParties = Pick<DelegationQuery, "orgId" | "subject" | "actorClientId">;

/** The live grants of one subject to one client, as read for a request (liveDelegationGrants, or with the client). */
export interface DelegationGrantsRead {
  parties: DelegationParties;
  live: DelegationGrant[];
}

/** Whether a read was for exactly these parties: only then may an exchange rely on it. */
export function sameParties(a: DelegationParties, b: DelegationParties): boolean {
  return a.orgId === b.orgId && a.subject === b.subject && a.actorClientId === b.actorClientId;
}

/** Who acts for whom, on what: the question a token exchange asks. */
export interface DelegationQuery {
  orgId: string;
  subject: string;
  actorClientId: string;
  /** Every audience or resource the token will be for; a grant must name them all. */
  targets: readonly string[];
  /** The scopes the token could carry before the grant is consulted. */
  scopes: readonly string[];
}

/** The grant a token rests on, and what it allows of the query. */
export interface HonouredDelegation {
  grantId: string;
  /** The query's scopes the grant covers (never empty). */
  scopes: readonly string[];
  /** Seconds since the epoch; a delegated token never outlives its grant. */
  notAfter?: number;
}

/**
 * The live grant (active, not expired, this org, subject and actor client)
 * that covers every target and the most of the scopes. None: `invalid_grant`
 * (RFC 6749 §5.2: the authorization presented — here the subject's token
 * offered for delegation — is not backed by the resource owner's grant).
 * Read from D1's primary on every exchange: a grant revoked a moment ago
 * must stop the next exchange.
 */
export async function requireDelegation(
  db: D1Database,
  query: DelegationQuery,
  now = new Date(),
): Promise<HonouredDelegation> {
  return chooseDelegation(await liveDelegationGrants(db, query, now), query);
}

/**
 * requireDelegation over grants already read for this request by
 * liveDelegationGrants (a token exchange reads them beside its revocation
 * check, grants/token-exchange.ts): the same rule, no second read.
 */
export function chooseDelegation(live: readonly DelegationGrant[], query: DelegationQuery): HonouredDelegation {
  let best: HonouredDelegation | undefined;
  for (const grant of live) {
    if (!query.targets.every((target) => grant.audiences.includes(target))) continue;
    const scopes = query.scopes.filter((scope) => grant.scopes.includes(scope));
    if (scopes.length === 0) continue;
    const notAfter = grant.expiresAt ? Math.floor(grant.expiresAt.getTime() / 1000) : undefined;
    if (!best || isBetter({ grantId: grant.id, scopes, notAfter }, best)) {
      best = { grantId: grant.id, scopes, ...(notAfter !== undefined ? { notAfter } : {}) };
    }
  }
  if (!best)
    throw new OAuthError("invalid_grant", "no live delegation grant lets this client act for the subject here");
  return best;
}

/** More scopes first, then the longer-lived grant. */
function isBetter(candidate: HonouredDelegation, best: HonouredDelegation): boolean {
  if (candidate.scopes.length !== best.scopes.length) return candidate.scopes.length > best.scopes.length;
  return (candidate.notAfter ?? Number.POSITIVE_INFINITY) > (best.notAfter ?? Number.POSITIVE_INFINITY);
}

/**
 * A grant lives only within the membership it was given in: the subject is
 * a member of the grant's org now, and has been since before the grant was
 * made. A person removed from the org leaves their grants behind (nothing
 * marks them revoked, and a removal must not depend on finding them);
 * re-added later, they are a new `member` row, and what they consented to
 * as a member before does not come back with them.
 */
const withinItsMembership = sql`exists (
  select 1 from ${member}
  where ${member.organizationId} = ${delegationGrant.orgId}
    and ${member.userId} = ${delegationGrant.subject}
    and ${member.createdAt} <= ${delegationGrant.createdAt}
)`;

/** The org's live grants (active, not expired at `now`, within the subject's membership) of this subject to this actor client. */
export async function liveDelegationGrants(
  db: D1Database,
  query: DelegationParties,
  now: Date,
): Promise<DelegationGrant[]> {
  const rows = await liveGrantsQuery(db).all({
    orgId: query.orgId,
    subject: query.subject,
    actorClientId: query.actorClientId,
    // `expires_at` is stored in milliseconds (timestamp_ms); a placeholder takes the stored form.
    now: now.getTime(),
  });
  return rows.map(fromRow);
}

/** Read on every token exchange that acts for someone, so built once (clients/prepared-query.ts). */
const liveGrantsQuery = preparedPerDatabase((db) =>
  drizzle(db)
    .select()
    .from(delegationGrant)
    .where(
      and(
        eq(delegationGrant.orgId, sql.placeholder("orgId")),
        eq(delegationGrant.subject, sql.placeholder("subject")),
        eq(delegationGrant.actorClientId, sql.placeholder("actorClientId")),
        eq(delegationGrant.status, "active"),
        or(isNull(delegationGrant.expiresAt), gt(delegationGrant.expiresAt, sql.placeholder("now"))),
        withinItsMembership,
      ),
    )
    .prepare(),
);

/**
 * liveDelegationGrants as one column of a query over `oauth_client`
 * (clients/registry.ts): the live grants, in the client's own org, of the
 * subject bound to the `grantSubject` placeholder to that very client, at
 * `grantsNow` (milliseconds, as `expires_at` is stored). So a token exchange
 * that acts for someone reads its grants in its client's D1 statement, not
 * in a round trip of its own: that read cost as much CPU under wrangler dev
 * as a D1 statement does (bench/README.md, "Measured"). Same freshness: read
 * from D1 by this request.
 */
export const liveGrantsToClientColumn = sql<string>`(
  select json_group_array(json_object(
    'id', ${delegationGrant.id}, 'org_id', ${delegationGrant.orgId}, 'subject', ${delegationGrant.subject},
    'actor_client_id', ${delegationGrant.actorClientId}, 'scopes', ${delegationGrant.scopes},
    'audiences', ${delegationGrant.audiences}, 'status', ${delegationGrant.status},
    'expires_at', ${delegationGrant.expiresAt}, 'created_by', ${delegationGrant.createdBy},
    'created_at', ${delegationGrant.createdAt}, 'revoked_at', ${delegationGrant.revokedAt}
  )) from ${delegationGrant}
  where ${delegationGrant.orgId} = ${oauthClient.orgId}
    and ${delegationGrant.subject} = ${sql.placeholder("grantSubject")}
    and ${delegationGrant.actorClientId} = ${oauthClient.clientId}
    and ${delegationGrant.status} = 'active'
    and (${delegationGrant.expiresAt} is null or ${delegationGrant.expiresAt} > ${sql.placeholder("grantsNow")})
    and ${withinItsMembership}
)`;

/** liveGrantsToClientColumn's value as grants; anything but an array of rows is none. */
export function delegationGrantsFromColumn(column: string | null): DelegationGrant[] {
  const parsed: unknown = column === null ? [] : JSON.parse(column);
  if (!Array.isArray(parsed)) return [];
  return parsed.flatMap((value: unknown) => {
    if (typeof value !== "object" || value === null) return [];
    const row = value as Record<string, unknown>;
    const text = (name: string) => (typeof row[name] === "string" ? (row[name] as string) : "");
    const time = (name: string) => (typeof row[name] === "number" ? new Date(row[name] as number) : null);
    const createdAt = time("created_at");
    if (createdAt === null || row.status !== "active") return [];
    return [
      fromRow({
        id: text("id"),
        orgId: text("org_id"),
        subject: text("subject"),
        actorClientId: text("actor_client_id"),
        scopes: text("scopes"),
        audiences: text("audiences"),
        status: "active",
        expiresAt: time("expires_at"),
        createdBy: text("created_by"),
        createdAt,
        revokedAt: time("revoked_at"),
      }),
    ];
  });
}

export interface NewDelegationGrant {
  orgId: string;
  subject: string;
  actorClientId: string;
  scopes: readonly string[];
  audiences: readonly string[];
  expiresAt: Date | null;
  createdBy: string;
}

export async function createDelegationGrant(db: D1Database, input: NewDelegationGrant): Promise<DelegationGrant> {
  const row = {
    id: `dg_${crypto.randomUUID()}`,
    orgId: input.orgId,
    subject: input.subject,
    actorClientId: input.actorClientId,
    scopes: joinList(input.scopes),
    audiences: joinList(input.audiences),
    status: "active" as const,
    expiresAt: input.expiresAt,
    createdBy: input.createdBy,
    createdAt: new Date(),
    revokedAt: null,
  };
  await drizzle(db).insert(delegationGrant).values(row);
  return fromRow(row);
}

/**
 * A page of an org's grants, newest first, optionally for one subject or one
 * actor client: `page.limit + 1` of them, the extra one saying that another
 * page follows (shared/db/keyset-page.ts).
 */
export async function listDelegationGrants(
  db: D1Database,
  orgId: string,
  filter: { subject?: string; actorClientId?: string },
  page: PageRequest,
): Promise<DelegationGrant[]> {
  const rows = await drizzle(db)
    .select()
    .from(delegationGrant)
    .where(
      and(
        eq(delegationGrant.orgId, orgId),
        filter.subject !== undefined ? eq(delegationGrant.subject, filter.subject) : undefined,
        filter.actorClientId !== undefined ? eq(delegationGrant.actorClientId, filter.actorClientId) : undefined,
        beforePosition(delegationGrant.createdAt, delegationGrant.id, page.after),
      ),
    )
    .orderBy(desc(delegationGrant.createdAt), desc(delegationGrant.id))
    .limit(page.limit + 1)
    .all();
  return rows.map(fromRow);
}

/**
 * Revokes a grant of the org: no exchange honours it from now on. Tokens
 * already minted under it carry its id (`grant_id`); the admin API records a
 * `grant` revocation for them in the org's object before it calls this
 * (revocations/grant-revocation.ts), so no row says revoked while they pass.
 * Returns the grant, or undefined if the org has no such grant.
 */
export async function revokeDelegationGrant(
  db: D1Database,
  orgId: string,
  id: string,
  now = new Date(),
): Promise<DelegationGrant | undefined> {
  // Only an active grant changes; revoking twice keeps the first time.
  await drizzle(db)
    .update(delegationGrant)
    .set({ status: "revoked", revokedAt: now })
    .where(and(eq(delegationGrant.orgId, orgId), eq(delegationGrant.id, id), eq(delegationGrant.status, "active")));
  return findDelegationGrant(db, orgId, id);
}

/** One grant of the org, whatever its status. */
export async function findDelegationGrant(
  db: D1Database,
  orgId: string,
  id: string,
): Promise<DelegationGrant | undefined> {
  const row = await drizzle(db)
    .select()
    .from(delegationGrant)
    .where(and(eq(delegationGrant.orgId, orgId), eq(delegationGrant.id, id)))
    .get();
  return row ? fromRow(row) : undefined;
}

function fromRow(row: typeof delegationGrant.$inferSelect): DelegationGrant {
  return {
    id: row.id,
    orgId: row.orgId,
    subject: row.subject,
    actorClientId: row.actorClientId,
    scopes: row.scopes.split(" ").filter(Boolean),
    audiences: row.audiences.split(" ").filter(Boolean),
    status: row.status,
    expiresAt: row.expiresAt,
    createdBy: row.createdBy,
    createdAt: row.createdAt,
    revokedAt: row.revokedAt,
  };
}

function joinList(values: readonly string[]): string {
  return [...new Set(values)].join(" ");
}
