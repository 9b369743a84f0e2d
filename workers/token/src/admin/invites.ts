import { INVITE_STATES, type InviteView } from "../../../../shared/contracts/host-invites.ts";
import { ALL_SCOPES } from "../../../../shared/contracts/scopes.ts";
import { MAX_HOST_INVITE_TTL_SECONDS } from "../../../../shared/contracts/tokens.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import { COMPACT_JWS } from "../../../../shared/jwt/compact-jws.ts";
import { REDACTED_TOKEN_SEGMENT } from "../../../../shared/observability/log.ts";
import { tokenConfig } from "../config.ts";
import { splitList } from "../clients/stored-client.ts";
import { createInvite } from "../invites/create-invite.ts";
import { type HostInviteRow, inviteOfOrg, inviteState, listInvites, withdrawInvite } from "../invites/store.ts";
import { auditDetail } from "./audit.ts";
import { readJsonObject } from "./body.ts";
import { requireOrg } from "./orgs.ts";
import type { AdminApp } from "./types.ts";
import { type Body, onlyFields, optionalBoolean, optionalInteger, optionalList } from "./validate.ts";
import { inviteSchemas } from "../openapi/schemas.ts";
import { route } from "./route.ts";
import { pageOf, readPage } from "./page.ts";
import { queryOneOf } from "./query.ts";

/** Shortest invite worth making: a host needs time to receive and run it. */
const MIN_INVITE_TTL_SECONDS = 60;
const MAX_LABELS = 32;
/** Label keys: short identifiers, as Kubernetes label names (cli/lib/options.ts checks the same). */
const LABEL_KEY = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$/;
const MAX_LABEL_VALUE = 256;

/** A stored invite as the admin API shows it: what it grants and its state, never a credential. */
function inviteView(row: HostInviteRow, state: InviteView["state"]): InviteView {
  return {
    jti: row.jti,
    org_id: row.orgId,
    state,
    labels: JSON.parse(row.labels) as Record<string, string>,
    scopes: splitList(row.scopes),
    audiences: splitList(row.audiences),
    created_by: row.createdBy,
    created_at: row.createdAt.toISOString(),
    expires_at: row.expiresAt.toISOString(),
    redeemed_at: row.redeemedAt?.toISOString() ?? null,
    client_id: row.clientId,
    dpop_bound_access_tokens: row.requireDpop,
  };
}

function labelsOf(body: Body): Record<string, string> {
  const value = body.labels;
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new HttpError("invalid_body", "labels: must be an object of strings");
  }
  const entries = Object.entries(value);
  if (entries.length > MAX_LABELS) throw new HttpError("invalid_body", `labels: at most ${MAX_LABELS}`);
  for (const [key, label] of entries) {
    if (!LABEL_KEY.test(key)) throw new HttpError("invalid_body", `labels: ${key} is not a label key`);
    if (typeof label !== "string" || label.length > MAX_LABEL_VALUE) {
      throw new HttpError("invalid_body", `labels: ${key} must be a string of at most ${MAX_LABEL_VALUE} characters`);
    }
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

/**
 * POST /orgs/{org}/invites `{ scopes, audiences?, labels?, ttl_seconds,
 * dpop_bound_access_tokens? }` → 201 `{ invite, jti, org_id, expires_at,
 * scopes, audiences, labels, bootstrap_endpoint, dpop_bound_access_tokens }`: a single-use host invite (invites/create-invite.ts)
 * that a host redeems at ENDPOINT.hostBootstrap for a `private_key_jwt`
 * machine client with these scopes and audiences. Without `audiences`, the
 * host gets the issuer's default audience only (config.ts
 * `defaultAudience`, the API): a host that needs another resource (an MCP
 * server) is invited for it by name. Its org's policy still narrows the
 * audiences at each mint (clients/guardrails.ts). With
 * `dpop_bound_access_tokens: true` (RFC 9449 §5.2), the host's client is
 * made with `require_dpop`: every token request must carry a DPoP proof,
 * and every token is bound to the proof's key.
 *
 * GET /orgs/{org}/invites?state=&limit=&cursor= → `{ invites: [...],
 * next_cursor }`, newest first, a page at a time (admin/page.ts): each
 * invite's grant, creator, times and state (`pending`, `redeemed`,
 * `expired`), never the invite JWT (only its claims are stored).
 *
 * DELETE /orgs/{org}/invites/{jti} withdraws an invite nobody has redeemed
 * (invites/store.ts withdrawInvite): once it answers 200 the invite's row is
 * gone from D1's primary, and a host presenting the invite is refused
 * `invite_invalid`. An invite a host redeemed first is `409 conflict` (its
 * client exists: disable that instead); no such invite in this org (another
 * org's, never issued, or already withdrawn) is `404 not_found`, so a
 * second withdrawal is a 404, never a second success.
 */
export function inviteRoutes(admin: AdminApp): void {
  route(
    admin,
    "post",
    "/orgs/:org/invites",
    {
      summary: "Create a single-use host invite",
      body: inviteSchemas.create,
      response: inviteSchemas.created,
      status: 201,
      orgAdmins: "org",
    },
    async (c) => {
      const orgId = await requireOrg(c);
      const config = tokenConfig(c.env);
      const body = await readJsonObject(c);
      onlyFields(body, ["scopes", "audiences", "labels", "ttl_seconds", "dpop_bound_access_tokens"]);
      // `admin` is not among ALL_SCOPES: no host can ever hold it.
      const scopes = optionalList(body, "scopes", { allowed: ALL_SCOPES, maxItems: 32, itemMax: 128 });
      if (!scopes || scopes.length === 0) throw new HttpError("invalid_body", "scopes: required");
      const audiences = optionalList(body, "audiences", {
        allowed: config.allowedAudiences,
        maxItems: 32,
        itemMax: 1024,
      }) ?? [config.defaultAudience];
      if (audiences.length === 0) throw new HttpError("invalid_body", "audiences: must name at least one value");
      const ttl = optionalInteger(body, "ttl_seconds", {
        min: MIN_INVITE_TTL_SECONDS,
        max: MAX_HOST_INVITE_TTL_SECONDS,
      });
      if (ttl === undefined || ttl === null) throw new HttpError("invalid_body", "ttl_seconds: required");
      // RFC 9449 §5.2, as client registration takes it (client-body.ts); absent: a bearer host, as before.
      const dpopBoundAccessTokens = optionalBoolean(body, "dpop_bound_access_tokens") ?? false;
      const { invite, claims } = await createInvite(c.env, config, {
        orgId,
        labels: labelsOf(body),
        scopes,
        audiences,
        ttlSeconds: ttl,
        dpopBoundAccessTokens,
        createdBy: c.get("operator").clientId,
      });
      auditDetail(c, {
        action: "invite.create",
        jti: claims.jti,
        scope: claims.scope,
        ttl_seconds: ttl,
        dpop_bound_access_tokens: dpopBoundAccessTokens,
      });
      return c.json(
        {
          invite,
          jti: claims.jti,
          org_id: orgId,
          expires_at: new Date(claims.exp * 1000).toISOString(),
          scopes: claims.scope.split(" "),
          audiences: claims.audiences,
          labels: claims.labels,
          bootstrap_endpoint: claims.aud,
          dpop_bound_access_tokens: dpopBoundAccessTokens,
        },
        201,
        // The invite is a credential until it is redeemed.
        { "Cache-Control": "no-store" },
      );
    },
  );
  route(
    admin,
    "get",
    "/orgs/:org/invites",
    {
      summary: "The org's host invites and their state (never an invite JWT)",
      query: inviteSchemas.listQuery,
      response: inviteSchemas.list,
      orgAdmins: "org",
    },
    async (c) => {
      const orgId = await requireOrg(c);
      auditDetail(c, { action: "invite.list" });
      const page = readPage(c, ["state"]);
      const state = queryOneOf(c.req.query("state"), "state", INVITE_STATES);
      const now = new Date();
      const { items, next_cursor } = pageOf(
        await listInvites(c.env.DB, { orgId, now, ...(state ? { state } : {}) }, page),
        page.limit,
        (row) => ({ createdAt: row.createdAt.getTime(), id: row.jti }),
      );
      return c.json({ invites: items.map((row) => inviteView(row, inviteState(row, now))), next_cursor });
    },
  );

  route(
    admin,
    "delete",
    "/orgs/:org/invites/:jti",
    {
      summary: "Withdraw a host invite nobody has redeemed: no host can redeem it after this answers",
      response: inviteSchemas.view,
      orgAdmins: "org",
    },
    async (c) => {
      const orgId = await requireOrg(c);
      const jti = c.req.param("jti");
      // The invite itself where its jti belongs (RFC 7515 §7.1 shape): no invite has that jti, and the
      // credential, still redeemable, is not written into the audit (the path is redacted too, audit.ts).
      if (COMPACT_JWS.test(jti)) {
        auditDetail(c, { action: "invite.withdraw", jti: REDACTED_TOKEN_SEGMENT });
        throw new HttpError("not_found", "no such invite: name it by its jti, not by the invite itself");
      }
      auditDetail(c, { action: "invite.withdraw", jti });
      const withdrawn = await withdrawInvite(c.env.DB, { jti, orgId });
      if (withdrawn) return c.json(inviteView(withdrawn, "withdrawn"));
      const redeemed = await inviteOfOrg(c.env.DB, { jti, orgId });
      if (redeemed?.redeemedAt) {
        if (redeemed.clientId) auditDetail(c, { client_id: redeemed.clientId });
        // RFC 9110 §15.5.10: the invite's state (spent) conflicts with the request.
        throw new HttpError(
          "conflict",
          `the invite was already redeemed by client ${redeemed.clientId}: disable that client instead`,
        );
      }
      throw new HttpError("not_found", "no such invite in this organization (never issued, or already withdrawn)");
    },
  );
}
