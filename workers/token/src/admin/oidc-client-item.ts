import type { Context } from "hono";
import { z } from "zod";
import { generateClientSecret, hashSecret } from "../../../../shared/crypto/secret-hash.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import {
  BROWSER_CLIENT_SCOPES,
  BrowserClientInputError,
  checkBackchannelLogoutUri,
} from "../../../../shared/oidc/browser-clients.ts";
import { tokenConfig } from "../config.ts";
import {
  type BrowserClientChanges,
  deleteBrowserClient,
  findBrowserClient,
  setBrowserClientSecret,
  updateBrowserClient,
} from "../oidc/browser-client-store.ts";
import { auditDetail } from "./audit.ts";
import { readJsonObject } from "./body.ts";
import { cutOffBrowserClient } from "./oidc-client-cutoff.ts";
import { route } from "./route.ts";
import type { AdminApp, AdminEnv } from "./types.ts";
import { type Body, onlyFields, optionalBoolean, optionalList, optionalString } from "./validate.ts";

type AdminContext = Context<AdminEnv>;

/** The fields of a client that an operator may change (admin/oidc-clients.ts registers the rest for good). */
const update = z.object({
  client_name: z.string().max(100).optional(),
  redirect_uris: z.array(z.string().url()).min(1).max(10).optional().describe("replaces the list; as at create"),
  post_logout_redirect_uris: z
    .array(z.string().url())
    .max(10)
    .optional()
    .describe("replaces the list; [] leaves logout without a return"),
  backchannel_logout_uri: z
    .string()
    .url()
    .nullable()
    .optional()
    .describe("OIDC Back-Channel Logout 1.0 §2.2; null turns it off"),
  scope: z
    .union([z.array(z.string()), z.string()])
    .optional()
    .describe("replaces the scopes; must include openid"),
  resources: z.array(z.string().url()).min(1).optional().describe("replaces the RFC 8707 resources"),
  disabled: z
    .boolean()
    .optional()
    .describe("true: refused at the provider, its refresh and opaque access tokens ended, its JWTs revoked"),
});

/** Reads a PATCH body: each field checked as create checks it (admin/oidc-clients.ts), absent fields unchanged. */
function parseChanges(
  body: Body,
  config: { allowedAudiences: ReadonlySet<string>; issuer: string },
  isRedirectUri: (v: string) => boolean,
) {
  const { allowedAudiences, issuer } = config;
  onlyFields(body, [
    "client_name",
    "redirect_uris",
    "post_logout_redirect_uris",
    "backchannel_logout_uri",
    "scope",
    "resources",
    "disabled",
  ]);
  if (Object.keys(body).length === 0) throw new HttpError("invalid_body", "nothing to change");
  const required = <T>(field: string, value: T[] | null | undefined): T[] | undefined => {
    if (value === null || value?.length === 0)
      throw new HttpError("invalid_body", `${field}: at least one is required`);
    return value;
  };
  const afterLogout = optionalList(body, "post_logout_redirect_uris", {
    maxItems: 10,
    itemMax: 2048,
    check: isRedirectUri,
  });
  const changes: BrowserClientChanges = {
    name: optionalString(body, "client_name", { max: 100 }),
    redirectUris: required(
      "redirect_uris",
      optionalList(body, "redirect_uris", { maxItems: 10, itemMax: 2048, check: isRedirectUri }),
    ),
    // May be emptied ([] or null): a client need not send anyone anywhere after logout.
    postLogoutRedirectUris: afterLogout === null ? [] : afterLogout,
    backchannelLogoutUri: backchannelLogoutUri(body, issuer),
    scopes: required(
      "scope",
      optionalList(body, "scope", { allowed: BROWSER_CLIENT_SCOPES, maxItems: 16, itemMax: 64 }),
    ),
    // RFC 8707 §2: only audiences this issuer mints for (ALLOWED_AUDIENCES).
    resources: required(
      "resources",
      optionalList(body, "resources", { allowed: allowedAudiences, maxItems: 8, itemMax: 2048 }),
    ),
    disabled: optionalBoolean(body, "disabled"),
  };
  return changes;
}

/** `backchannel_logout_uri`: a URI as create checks it, null to turn it off, absent to keep it. */
function backchannelLogoutUri(body: Body, issuer: string): string | null | undefined {
  if (body.backchannel_logout_uri === null) return null;
  const uri = optionalString(body, "backchannel_logout_uri", { max: 2048 });
  if (uri === undefined) return undefined;
  try {
    return checkBackchannelLogoutUri(uri, issuer);
  } catch (error) {
    if (error instanceof BrowserClientInputError) throw new HttpError("invalid_body", error.message);
    throw error;
  }
}

/** The operator-registered browser client the path names, or 404 `not_found`. */
async function requireBrowserClient(c: AdminContext) {
  const clientId = c.req.param("id") ?? "";
  auditDetail(c, { client_id: clientId });
  const found = await findBrowserClient(c.env.DB, clientId);
  if (!found) throw new HttpError("not_found", "no such browser client");
  return found;
}

/**
 * One browser client of the OpenID provider, for platform operators:
 *
 * - GET    /oidc-clients/{id}               → the client
 * - PATCH  /oidc-clients/{id}               `{ client_name?, redirect_uris?, post_logout_redirect_uris?,
 *                                              backchannel_logout_uri?, scope?, resources?, disabled? }` → the client
 * - POST   /oidc-clients/{id}/rotate-secret → the client with a new `client_secret` (once); confidential clients only
 * - DELETE /oidc-clients/{id}               → `{ client_id, deleted: true }`
 *
 * Disabling and deleting end the client's tokens before the answer
 * (admin/oidc-client-cutoff.ts); any other change holds from the next
 * authorization on.
 */
export function oidcClientItemRoutes(
  admin: AdminApp,
  schemas: { view: z.ZodObject; isRedirectUri: (value: string) => boolean },
): void {
  route(
    admin,
    "get",
    "/oidc-clients/:id",
    { summary: "Read a browser (OpenID Connect) client", response: schemas.view },
    async (c) => {
      const { view } = await requireBrowserClient(c);
      auditDetail(c, { action: "oidc_client.read" });
      return c.json(view);
    },
  );

  route(
    admin,
    "patch",
    "/oidc-clients/:id",
    {
      summary: "Change a browser client, or disable it (its tokens ended and revoked) or enable it",
      body: update,
      response: schemas.view,
    },
    async (c) => {
      const { row } = await requireBrowserClient(c);
      const changes = parseChanges(await readJsonObject(c), tokenConfig(c.env), schemas.isRedirectUri);
      // An org's own (DCR) client has RP-initiated logout off (migration 0024): its list would be kept and never used.
      if (changes.postLogoutRedirectUris !== undefined && row.enableEndSession !== true) {
        throw new HttpError(
          "invalid_body",
          "post_logout_redirect_uris: this client was registered by its organization, without RP-initiated logout",
        );
      }
      // Nor back-channel logout, which Better Auth refuses at registration for such clients too.
      if (changes.backchannelLogoutUri !== undefined && row.enableEndSession !== true) {
        throw new HttpError(
          "invalid_body",
          "backchannel_logout_uri: this client was registered by its organization, without logout",
        );
      }
      auditDetail(c, {
        action: changes.disabled === true ? "oidc_client.disable" : "oidc_client.update",
        fields: Object.keys(changes).filter((k) => changes[k as keyof BrowserClientChanges] !== undefined),
      });
      try {
        // Written first: from here the provider refuses a disabled client, so
        // no token is minted after the cut-off below.
        await updateBrowserClient(c.env.DB, row.clientId, changes);
      } catch (error) {
        if (error instanceof BrowserClientInputError) throw new HttpError("invalid_body", error.message);
        throw error;
      }
      // Every `disabled: true`, not only the first: a retry after a 503 finishes the cut-off.
      if (changes.disabled === true) {
        auditDetail(c, { revoked_in: await cutOffBrowserClient(c, row.clientId, "browser client disabled") });
      }
      const after = await findBrowserClient(c.env.DB, row.clientId);
      if (!after) throw new HttpError("not_found", "no such browser client");
      return c.json(after.view);
    },
  );

  route(
    admin,
    "post",
    "/oidc-clients/:id/rotate-secret",
    {
      summary: "Give a confidential browser client a new secret (shown once); the old one is refused at once",
      response: schemas.view.extend({ client_secret: z.string().describe("shown once") }),
    },
    async (c) => {
      const { row, view } = await requireBrowserClient(c);
      auditDetail(c, { action: "oidc_client.rotate_secret" });
      if (row.tokenEndpointAuthMethod === "none" || !row.clientSecret) {
        throw new HttpError("conflict", "a public client has no secret to rotate");
      }
      const secret = generateClientSecret();
      // Hashed as at registration: the provider verifies with the same hash (auth/plugins/oauth-provider.ts `storeClientSecret`).
      await setBrowserClientSecret(c.env.DB, row.clientId, await hashSecret(secret));
      return c.json({ ...view, client_secret: secret });
    },
  );

  route(
    admin,
    "delete",
    "/oidc-clients/:id",
    {
      summary: "Delete a browser client, its tokens ended and revoked first",
      response: z.object({ client_id: z.string(), deleted: z.literal(true) }),
    },
    async (c) => {
      const { row } = await requireBrowserClient(c);
      auditDetail(c, { action: "oidc_client.delete" });
      // Disabled first (no new token after the cut-off), cut off, then gone:
      // if the cut-off fails, the row (and the orgs it was used in) is still
      // there for the retry.
      await updateBrowserClient(c.env.DB, row.clientId, { disabled: true });
      auditDetail(c, { revoked_in: await cutOffBrowserClient(c, row.clientId, "browser client deleted") });
      await deleteBrowserClient(c.env.DB, row.clientId);
      return c.json({ client_id: row.clientId, deleted: true });
    },
  );
}
