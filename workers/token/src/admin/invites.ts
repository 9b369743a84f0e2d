import { ALL_SCOPES } from "../../../../shared/contracts/scopes.ts";
import { MAX_HOST_INVITE_TTL_SECONDS } from "../../../../shared/contracts/tokens.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import { tokenConfig } from "../config.ts";
import { createInvite } from "../invites/create-invite.ts";
import { auditDetail } from "./audit.ts";
import { readJsonObject } from "./body.ts";
import { requireOrg } from "./orgs.ts";
import type { AdminApp } from "./types.ts";
import { type Body, onlyFields, optionalInteger, optionalList } from "./validate.ts";
import { inviteSchemas } from "../openapi/schemas.ts";
import { route } from "./route.ts";

/** Shortest invite worth making: a host needs time to receive and run it. */
const MIN_INVITE_TTL_SECONDS = 60;
const MAX_LABELS = 32;
/** Label keys: short identifiers, as Kubernetes label names (cli/lib/options.ts checks the same). */
const LABEL_KEY = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$/;
const MAX_LABEL_VALUE = 256;

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
 * POST /orgs/{org}/invites `{ scopes, audiences?, labels?, ttl_seconds }` →
 * 201 `{ invite, jti, org_id, expires_at, scopes, audiences, labels,
 * bootstrap_endpoint }`: a single-use host invite (invites/create-invite.ts)
 * that a host redeems at ENDPOINT.hostBootstrap for a `private_key_jwt`
 * machine client with these scopes and audiences. Without `audiences`, the
 * host gets the issuer's default audience only (config.ts
 * `defaultAudience`, the API): a host that needs another resource (an MCP
 * server) is invited for it by name. Its org's policy still narrows the
 * audiences at each mint (clients/guardrails.ts).
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
      onlyFields(body, ["scopes", "audiences", "labels", "ttl_seconds"]);
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
      const { invite, claims } = await createInvite(c.env, config, {
        orgId,
        labels: labelsOf(body),
        scopes,
        audiences,
        ttlSeconds: ttl,
        createdBy: c.get("operator").clientId,
      });
      auditDetail(c, { action: "invite.create", jti: claims.jti, scope: claims.scope, ttl_seconds: ttl });
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
        },
        201,
        // The invite is a credential until it is redeemed.
        { "Cache-Control": "no-store" },
      );
    },
  );
}
