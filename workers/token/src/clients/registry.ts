import { eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { FIRST_PARTY_CLIENT_ID } from "../../../../shared/contracts/tokens.ts";
import { isClientId } from "../../../../shared/crypto/client-id.ts";
import type { SelectedFields } from "drizzle-orm/sqlite-core";
import { organization } from "../../../../shared/db/auth-schema.ts";
import { oauthClient, orgTokenPolicy } from "../../../../shared/db/machine-schema.ts";
import { delegationGrantsFromColumn, liveGrantsToClientColumn } from "../grants/delegation-grants.ts";
import { publishedJwksColumn, publishedJwksFromColumn } from "../keys/signing-keys.ts";
import { orgTokenPolicyFromRow } from "./org-policy.ts";
import { preparedPerDatabase } from "./prepared-query.ts";
import { storedClientFromRow } from "./stored-client.ts";
import type { ClientAuthContext, RegisteredClient, StoredClient } from "./types.ts";

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

/**
 * Finds a registered client by its id: the built-in first-party client, or
 * an `oauth_client` row. Every lookup reads D1 (no isolate cache): a client
 * disabled a moment ago must not authenticate again, or it could mint a
 * token issued after its revocation's cutoff. An id without the
 * CLIENT_ID_PREFIX shape is unknown without a lookup.
 *
 * A client of an org that no longer exists is unknown too (RFC 6749 §5.2
 * `invalid_client`). Deleting an org (Better Auth's `/organization/delete`)
 * removes its row and its memberships but not its clients, which the
 * authn Worker does not own, and its `org` revocation cuts off only tokens
 * issued up to it: the deleted org's machines and agents went on minting
 * fresh tokens for it, which the gateway accepted. Read in the client's own
 * statement, so a mint that saw the org still there began before the
 * deletion and its `iat` falls under that cut-off (docs/revocation.md).
 */
export async function findClient(clientId: string, context: ClientAuthContext): Promise<RegisteredClient | undefined> {
  if (clientId === FIRST_PARTY_CLIENT.clientId) return FIRST_PARTY_CLIENT;
  const stored = await findStoredClientWithPolicy(context.env.DB, clientId, context);
  if (!stored) return undefined;
  return { clientId: stored.clientId, type: "confidential", authMethod: stored.authMethod, stored };
}

/**
 * The client and its org's token policy in one D1 query (a LEFT JOIN: an org
 * without a policy row gets the defaults), since every grant that mints
 * needs both: a second round trip cost about 1 ms of CPU per
 * client_credentials token under wrangler dev (bench/README.md, "Measured").
 * Still read on every request, so a tightened policy applies at once.
 */
async function findStoredClientWithPolicy(
  db: D1Database,
  clientId: string,
  reads: Pick<ClientAuthContext, "onPublishedKeys" | "delegationGrantsOf">,
): Promise<StoredClient | undefined> {
  if (!isClientId(clientId)) return undefined;
  const { onPublishedKeys, delegationGrantsOf } = reads;
  let row: Awaited<ReturnType<ReturnType<typeof clientWithPolicyQuery>["get"]>>;
  if (delegationGrantsOf) {
    const withGrants = await clientWithPolicyKeysAndGrantsQuery(db).get({
      clientId,
      grantSubject: delegationGrantsOf.subject,
      grantsNow: Date.now(),
    });
    if (withGrants) {
      onPublishedKeys?.(publishedJwksFromColumn(withGrants.publishedJwks));
      const orgId = withGrants.client.orgId;
      if (orgId !== null) {
        delegationGrantsOf.deliver({
          parties: { orgId, subject: delegationGrantsOf.subject, actorClientId: withGrants.client.clientId },
          live: delegationGrantsFromColumn(withGrants.liveGrants),
        });
      }
    }
    row = withGrants;
  } else if (onPublishedKeys) {
    const withKeys = await clientWithPolicyAndKeysQuery(db).get({ clientId });
    if (withKeys) onPublishedKeys(publishedJwksFromColumn(withKeys.publishedJwks));
    row = withKeys;
  } else {
    row = await clientWithPolicyQuery(db).get({ clientId });
  }
  if (!row || (row.client.orgId !== null && row.liveOrgId === null)) return undefined;
  const stored = storedClientFromRow(row.client);
  return row.client.orgId === null ? stored : { ...stored, orgPolicy: orgTokenPolicyFromRow(row.policy) };
}

/**
 * A client by id with its org's token policy, and `extra` columns read in
 * the same statement (prepared once per database: clients/prepared-query.ts).
 */
function clientWithPolicyAnd<Extra extends SelectedFields>(extra: Extra) {
  return preparedPerDatabase((db) =>
    drizzle(db)
      .select({ client: oauthClient, policy: orgTokenPolicy, liveOrgId: organization.id, ...extra })
      .from(oauthClient)
      .leftJoin(orgTokenPolicy, eq(orgTokenPolicy.orgId, oauthClient.orgId))
      .leftJoin(organization, eq(organization.id, oauthClient.orgId))
      .where(eq(oauthClient.clientId, sql.placeholder("clientId")))
      .prepare(),
  );
}

/** findStoredClientWithPolicy's query. */
const clientWithPolicyQuery = clientWithPolicyAnd({});

/**
 * findStoredClientWithPolicy's query with our published verification keys
 * (keys/signing-keys.ts publishedJwksColumn) as one more column, for a
 * request that verifies our own tokens: a token exchange read them in a
 * D1 query of its own, which under wrangler dev cost about as much CPU as the
 * rest of the difference between an exchange and a client_credentials mint
 * (bench/README.md, "Measured"). Same freshness: read by this request, from
 * D1, before anything is verified with them.
 */
const clientWithPolicyAndKeysQuery = clientWithPolicyAnd({ publishedJwks: publishedJwksColumn });

/**
 * clientWithPolicyAndKeysQuery with the live delegation grants of one
 * subject to this client (grants/delegation-grants.ts
 * liveGrantsToClientColumn) as one more column, for a token exchange that
 * acts for someone: its grants cost no D1 statement of their own.
 */
const clientWithPolicyKeysAndGrantsQuery = clientWithPolicyAnd({
  publishedJwks: publishedJwksColumn,
  liveGrants: liveGrantsToClientColumn,
});

/** An `oauth_client` row by id, whatever its status or org. */
export async function findStoredClient(db: D1Database, clientId: string): Promise<StoredClient | undefined> {
  if (!isClientId(clientId)) return undefined;
  const row = await drizzle(db).select().from(oauthClient).where(eq(oauthClient.clientId, clientId)).get();
  return row ? storedClientFromRow(row) : undefined;
}
