import { eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { SECOND_FACTOR_REQUIRED } from "../../../../shared/contracts/second-factor.ts";
import { organization } from "../../../../shared/db/schema.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import { tokenConfig } from "../config.ts";
import { startConnect } from "../vault/connect-flow.ts";
import { type ConnectLinkRow, claimConnectLink, findConnectLink, invalidLink } from "../vault/connect-link.ts";
import { flowFinisherCondition, requireFlowFinisher } from "../vault/flow-finisher.ts";
import { getProvider } from "../vault/providers.ts";
import { sessionOwnerById, sessionOwnerCondition } from "../vault/session-owner.ts";
import { vaultSecret } from "../vault/vault-key.ts";
import { auditDetail } from "./audit.ts";
import { readJsonObject } from "./body.ts";
import { requireOrg } from "./orgs.ts";
import { route } from "./route.ts";
import type { AdminApp } from "./types.ts";
import { vaultSchemas } from "./vault-schemas.ts";
import { type Body, onlyFields } from "./validate.ts";

/** The body's `link`: any string is looked up (an empty or odd one is simply unknown); another type is a bad body. */
function linkOf(body: Body, fields: readonly string[] = ["link"]): string {
  onlyFields(body, fields);
  const link = body.link ?? "";
  if (typeof link !== "string") throw new HttpError("invalid_body", "link: must be a string");
  return link;
}

/** The confirm body's optional `authorization_origin`: the origin the confirming page let its form go on to. */
function expectedOriginOf(body: Body): string | undefined {
  const origin = body.authorization_origin;
  if (origin === undefined) return undefined;
  if (typeof origin !== "string") throw new HttpError("invalid_body", "authorization_origin: must be a string");
  return origin;
}

/**
 * The confirming page allowed its form to be redirected to one origin only
 * (its CSP form-action, CSP 3 §6.4.1): a provider whose authorization
 * endpoint moved since the page was shown would have its redirect refused by
 * the browser after the link is spent. 409 `conflict` instead, the link
 * kept: the page is reloaded. A page that could name no origin there (an
 * empty one: the endpoint's origin is no plain host) is 422
 * `provider_endpoint_unsupported`, the link kept too: no reload fixes that,
 * only the provider's row.
 */
function requireShownOrigin(authorizationEndpoint: string, shown: string | undefined): void {
  if (shown === undefined || new URL(authorizationEndpoint).origin === shown) return;
  if (shown === "")
    throw new HttpError(
      "provider_endpoint_unsupported",
      "the confirming page cannot allow this provider's authorization endpoint (its origin is not a plain host); " +
        "an operator must correct the provider's authorization_endpoint",
    );
  throw new HttpError(
    "conflict",
    "the provider's authorization endpoint changed since this page was shown; reload the page and confirm again",
  );
}

/**
 * The callback finishes a flow only for a session that has an active org its
 * person belongs to (vault/session-owner.ts) and whose person may start the
 * flow (vault/flow-finisher.ts). Asked before the link is spent, so a
 * session the callback would refuse `invalid_state` (a platform operator
 * with no active org, say) is told why while the link is still good: 403
 * `forbidden`.
 */
async function requireSessionFinishes(db: D1Database, sessionId: string, row: ConnectLinkRow, subject: string) {
  const owner = await sessionOwnerById(db, sessionId);
  if (owner === undefined || owner === SECOND_FACTOR_REQUIRED)
    throw new HttpError(
      "forbidden",
      "this session has no active organization you are a member of, so the provider could not send it back here: " +
        "switch to one of your organizations (your account page), then confirm the link again",
    );
  await requireFlowFinisher(db, row, subject);
}

/** A link for a member's own connection is theirs to see and confirm: anyone else 403, the link kept. */
function requireLinkConfirmer(row: ConnectLinkRow, subject: string): void {
  if (row.ownerKind === "user" && row.ownerId !== subject)
    throw new HttpError("forbidden", "this link connects another person's own account: only they can confirm it");
}

async function linkProvider(db: D1Database, row: ConnectLinkRow) {
  const provider = await getProvider(db, row.orgId, row.providerId);
  if (!provider) throw new HttpError("not_found", "the link's vault provider was deleted");
  return provider;
}

/**
 * An operator client's connect links (shared/contracts/vault.ts
 * VAULT_CONNECT_LINK), read and confirmed by the console's confirmation page
 * for the signed-in admin (workers/authn/src/console/vault-confirm.tsx). The
 * link's value travels in the JSON body, never in a path: the audit event of
 * every admin call keeps the path.
 *
 * - POST /orgs/{org}/vault/connect-links/inspect `{ link }` → what confirming would do
 * - POST /orgs/{org}/vault/connect-links/confirm `{ link, authorization_origin? }` → 201
 *   `{ authorization_url, expires_at }`: the link is spent and a flow starts bound to the caller's console
 *   session (RFC 6749 §10.12), as one started from the console is; an operator client's token is 403 `forbidden`
 *
 * Refusals: 400 `invalid_connect_link` (unknown, used, expired or another org's), 403 `forbidden`
 * (confirm: not a console session, or one the callback would not accept: no active org of the person's, or a
 * person who may not start the flow; both: a link for another person's own connection), 404 `not_found` (its
 * provider was deleted), 409 `conflict` (confirm: `authorization_origin` is not the provider's authorization
 * origin any more), 422 `provider_endpoint_unsupported` (confirm: an empty `authorization_origin`, the page
 * could allow none). A refusal leaves the link as it was.
 */
export function vaultConnectLinkRoutes(admin: AdminApp): void {
  route(
    admin,
    "post",
    "/orgs/:org/vault/connect-links/inspect",
    {
      summary: "Show what confirming an operator's connect link would do",
      body: vaultSchemas.connectLink,
      response: vaultSchemas.connectLinkView,
      orgAdmins: "org",
    },
    async (c) => {
      const orgId = await requireOrg(c);
      auditDetail(c, { action: "vault_connect_link.inspect" });
      const row = await findConnectLink(c.env.DB, orgId, linkOf(await readJsonObject(c)));
      auditDetail(c, { provider_id: row.providerId, owner_kind: row.ownerKind });
      // The page would tell another admin "saved as your own connection" for someone else's link.
      requireLinkConfirmer(row, c.get("operator").subject);
      const provider = await linkProvider(c.env.DB, row);
      const org = await drizzle(c.env.DB)
        .select({ name: organization.name })
        .from(organization)
        .where(eq(organization.id, orgId))
        .get();
      return c.json({
        org: { id: orgId, name: org?.name ?? orgId },
        provider: {
          id: provider.id,
          name: provider.name,
          resource: provider.resource,
          authorization_endpoint: provider.authorizationEndpoint,
          scopes: provider.scopes ? provider.scopes.split(" ") : [],
        },
        owner: { kind: row.ownerKind, id: row.ownerId },
        started_by: row.startedBy,
        expires_at: row.expiresAt.toISOString(),
      });
    },
  );

  route(
    admin,
    "post",
    "/orgs/:org/vault/connect-links/confirm",
    {
      summary: "Confirm an operator's connect link as the signed-in admin: the flow is bound to this session",
      body: vaultSchemas.connectLinkConfirm,
      response: vaultSchemas.connectConfirmed,
      status: 201,
      orgAdmins: "org",
    },
    async (c) => {
      const orgId = await requireOrg(c);
      auditDetail(c, { action: "vault_connection.confirm" });
      const operator = c.get("operator");
      // The point of the link: an operator client cannot finish its own flow, a person in a browser must.
      if (!operator.sessionId)
        throw new HttpError("forbidden", "a connect link is confirmed in the browser by a signed-in admin of the org");
      const body = await readJsonObject(c);
      const link = linkOf(body, ["link", "authorization_origin"]);
      const shownOrigin = expectedOriginOf(body);
      // Every check before the link is spent, so a refused confirmation leaves it for the right person.
      const row = await findConnectLink(c.env.DB, orgId, link);
      auditDetail(c, { provider_id: row.providerId, owner_kind: row.ownerKind, link_started_by: row.startedBy });
      requireLinkConfirmer(row, operator.subject);
      const provider = await linkProvider(c.env.DB, row);
      requireShownOrigin(provider.authorizationEndpoint, shownOrigin);
      await requireSessionFinishes(c.env.DB, operator.sessionId, row, operator.subject);
      // The session and role checks again inside the spending write: a change between
      // them and the write makes it miss, and the link stays for whoever may confirm it.
      const still = sql`${sessionOwnerCondition(operator.sessionId, new Date())} and ${flowFinisherCondition(row, operator.subject)}`;
      if (!(await claimConnectLink(c.env.DB, orgId, link, still))) {
        // Why it missed, in the order the checks above ran: gone (spent, expired), or no longer allowed.
        await requireSessionFinishes(
          c.env.DB,
          operator.sessionId,
          await findConnectLink(c.env.DB, orgId, link),
          operator.subject,
        );
        throw invalidLink();
      }
      const started = await startConnect(c.env.DB, vaultSecret(c.env), tokenConfig(c.env).issuer, {
        provider,
        ownerKind: row.ownerKind,
        ownerId: row.ownerId,
        binding: { session: operator.sessionId },
      });
      return c.json({ authorization_url: started.authorizationUrl, expires_at: started.expiresAt.toISOString() }, 201);
    },
  );
}
