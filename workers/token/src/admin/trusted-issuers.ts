import { and, asc, eq, isNull } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { trustedIssuerGrantId } from "../../../../shared/contracts/revocation.ts";
import { trustedIssuer } from "../../../../shared/db/machine-schema.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import { isLoopbackHost, isPermittedOutboundUrl } from "../../../../shared/http/outbound-url.ts";
import { tokenConfig } from "../config.ts";
import { revokeGrantRecordedFirst } from "../revocations/grant-revocation.ts";
import { auditDetail } from "./audit.ts";
import { readJsonObject } from "./body.ts";
import { requireOrg } from "./orgs.ts";
import type { AdminApp } from "./types.ts";
import { onlyFields, requiredString } from "./validate.ts";
import { trustedIssuerSchemas } from "../openapi/schemas.ts";
import { route } from "./route.ts";

/** Most external issuers one org may trust. */
const MAX_TRUSTED_ISSUERS = 32;

function issuerView(row: typeof trustedIssuer.$inferSelect) {
  return {
    id: row.id,
    org_id: row.orgId,
    issuer: row.issuer,
    jwks_uri: row.jwksUri,
    created_at: row.createdAt.toISOString(),
  };
}

/**
 * RFC 8414 §2: an issuer identifier is an https URL with no query or
 * fragment (http only on localhost, for development).
 */
function isIssuerIdentifier(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  if (url.username || url.password || url.search || url.hash) return false;
  return url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname));
}

/**
 * External identity providers an org trusts to issue ID-JAGs to us
 * (redeemed with the jwt-bearer grant):
 *
 * - POST   /orgs/{org}/trusted-issuers      `{ issuer, jwks_uri }` → 201 `{ id, org_id, issuer, jwks_uri, created_at }`
 * - GET    /orgs/{org}/trusted-issuers      → `{ trusted_issuers: [...] }`
 * - DELETE /orgs/{org}/trusted-issuers/{id} → `{ id, deleted: true }`
 *
 * Our own issuer needs no entry. An issuer already trusted is 409 `conflict`.
 * Removing one ends what it granted: every token redeemed from its ID-JAGs
 * under this trust (and exchanged from those) rests on it (`grant_chain`,
 * grants/jwt-bearer.ts), and the removal records a `grant` revocation of
 * it in the org's Durable Object before the trust is withdrawn (recorded
 * first, as a delegation grant's: revocations/grant-revocation.ts), so a
 * `200` means they are refused at every gateway and by introspection.
 * Otherwise `503`, and the row is still there for the retry: the trust
 * withdrawn or not (removeTrustedIssuer).
 */
export function trustedIssuerRoutes(admin: AdminApp): void {
  route(
    admin,
    "post",
    "/orgs/:org/trusted-issuers",
    {
      summary: "Trust an external issuer of ID-JAGs",
      body: trustedIssuerSchemas.create,
      response: trustedIssuerSchemas.view,
      status: 201,
      orgAdmins: "org",
    },
    async (c) => {
      const orgId = await requireOrg(c);
      const body = await readJsonObject(c);
      onlyFields(body, ["issuer", "jwks_uri"]);
      const issuer = requiredString(body, "issuer", {
        max: 2048,
        check: isIssuerIdentifier,
        patternText: "must be an https URL without query or fragment (http only on localhost)",
      });
      // The ID-JAG verifier fetches it: the shared outbound guard (shared/http/outbound-url.ts).
      const ownIssuer = tokenConfig(c.env).issuer;
      const jwksUri = requiredString(body, "jwks_uri", {
        max: 2048,
        check: (value) => isPermittedOutboundUrl(value, ownIssuer),
        patternText:
          "must be an https URL without credentials or fragment, not a loopback, private, link-local or internal host",
      });
      if (issuer === tokenConfig(c.env).issuer)
        throw new HttpError("invalid_body", "issuer: our own issuer needs no entry");
      const db = drizzle(c.env.DB);
      const existing = await db
        .select({ id: trustedIssuer.id })
        .from(trustedIssuer)
        .where(eq(trustedIssuer.orgId, orgId))
        .all();
      if (existing.length >= MAX_TRUSTED_ISSUERS) {
        throw new HttpError("conflict", `an organization trusts at most ${MAX_TRUSTED_ISSUERS} issuers`);
      }
      const row = await db
        .insert(trustedIssuer)
        .values({ id: crypto.randomUUID(), orgId, issuer, jwksUri, createdAt: new Date() })
        .onConflictDoNothing()
        .returning()
        .get();
      if (!row) throw await conflictWith(db, orgId, issuer);
      auditDetail(c, { action: "trusted_issuer.create", trusted_issuer_id: row.id, issuer });
      return c.json(issuerView(row), 201);
    },
  );

  route(
    admin,
    "get",
    "/orgs/:org/trusted-issuers",
    { summary: "List the org's trusted issuers", response: trustedIssuerSchemas.list, orgAdmins: "org" },
    async (c) => {
      const orgId = await requireOrg(c);
      auditDetail(c, { action: "trusted_issuer.list" });
      const rows = await drizzle(c.env.DB)
        .select()
        .from(trustedIssuer)
        // A row whose removal began is trusted no more (its removal's retry deletes it).
        .where(and(eq(trustedIssuer.orgId, orgId), isNull(trustedIssuer.removingSince)))
        .orderBy(asc(trustedIssuer.createdAt), asc(trustedIssuer.id))
        .all();
      return c.json({ trusted_issuers: rows.map(issuerView) });
    },
  );

  route(
    admin,
    "delete",
    "/orgs/:org/trusted-issuers/:id",
    { summary: "Stop trusting an issuer", response: trustedIssuerSchemas.deleted, orgAdmins: "org" },
    async (c) => {
      const orgId = await requireOrg(c);
      const id = c.req.param("id");
      auditDetail(c, { action: "trusted_issuer.delete", trusted_issuer_id: id });
      await removeTrustedIssuer(c.env, orgId, id, (promise) => c.executionCtx.waitUntil(promise));
      return c.json({ id, deleted: true });
    },
  );
}

/**
 * Removes an org's trust in an issuer, answering only once its cut-off is
 * recorded to the end and the row is gone. In this order, each step on
 * every call, so a call that fails anywhere leaves the row for its retry:
 *
 * 1. the trust's `grant` revocation is recorded in the org's object, with
 *    the slack (revokeGrantRecordedFirst): a redemption that read the row
 *    just before step 2 mints a token resting on the trust, which the entry
 *    refuses whenever it was issued;
 * 2. the trust is withdrawn (`removing_since`): no redemption reads it from
 *    then on, nor does the list;
 * 3. when step 2 took longer than the slack relies on, the revocation is
 *    recorded again, so the entry outlives every token minted before it;
 * 4. only then does the row go.
 *
 * It went at step 2: a recording of step 3 that failed after a slow delete
 * answered 503 with the row gone, so the retry found nothing (404) and the
 * entry the tokens minted in flight needed was never recorded. Now the row
 * stays until step 4, and a retry, finding it, does every step again (one
 * more event in the org's log). Gone since it was read (a concurrent
 * removal, which recorded its own): removed all the same.
 */
async function removeTrustedIssuer(
  env: TokenEnv,
  orgId: string,
  id: string,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<void> {
  const db = drizzle(env.DB);
  const ofOrg = and(eq(trustedIssuer.orgId, orgId), eq(trustedIssuer.id, id));
  const existing = await db.select({ id: trustedIssuer.id }).from(trustedIssuer).where(ofOrg).get();
  if (!existing) throw new HttpError("not_found", "no such trusted issuer in this organization");
  await revokeGrantRecordedFirst(
    env,
    { orgId, grantId: trustedIssuerGrantId(existing.id), reason: "trusted issuer removed" },
    waitUntil,
    {
      markRevoked: () =>
        db
          .update(trustedIssuer)
          .set({ removingSince: new Date() })
          .where(and(ofOrg, isNull(trustedIssuer.removingSince)))
          .run(),
    },
  );
  try {
    await db.delete(trustedIssuer).where(ofOrg).run();
  } catch (error) {
    console.error("trusted issuer's cut-off recorded and trust withdrawn, row not deleted", orgId, id, error);
    throw new HttpError("temporarily_unavailable", "the trusted issuer's removal could not be finished; retry");
  }
}

/** Why an issuer could not be trusted: it is already, or the removal of its earlier trust is unfinished. */
async function conflictWith(db: ReturnType<typeof drizzle>, orgId: string, issuer: string): Promise<HttpError> {
  const held = await db
    .select({ id: trustedIssuer.id, removingSince: trustedIssuer.removingSince })
    .from(trustedIssuer)
    .where(and(eq(trustedIssuer.orgId, orgId), eq(trustedIssuer.issuer, issuer)))
    .get();
  if (held?.removingSince) {
    return new HttpError(
      "conflict",
      `this issuer's earlier trust ${held.id} is still being removed: retry its DELETE, then trust it again`,
    );
  }
  return new HttpError("conflict", "this issuer is already trusted by the organization");
}
