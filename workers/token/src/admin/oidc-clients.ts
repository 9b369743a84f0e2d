import { z } from "zod";
import { OIDC_SCOPE } from "../../../../shared/contracts/oidc.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import {
  BROWSER_CLIENT_SCOPES,
  BrowserClientInputError,
  checkRedirectUri,
  listBrowserClients,
  registerBrowserClient,
} from "../../../../shared/oidc/browser-clients.ts";
import { tokenConfig } from "../config.ts";
import { auditDetail } from "./audit.ts";
import { readJsonObject } from "./body.ts";
import { oidcClientItemRoutes } from "./oidc-client-item.ts";
import { route } from "./route.ts";
import type { AdminApp } from "./types.ts";
import { oneOf, onlyFields, optionalList, optionalString, requiredString } from "./validate.ts";

const DEFAULT_SCOPES = [OIDC_SCOPE.openid, OIDC_SCOPE.profile, OIDC_SCOPE.email, OIDC_SCOPE.offlineAccess];

const view = z.object({
  client_id: z.string(),
  client_name: z.string(),
  redirect_uris: z.array(z.string()),
  post_logout_redirect_uris: z.array(z.string()),
  backchannel_logout_uri: z.string().nullable(),
  token_endpoint_auth_method: z.enum(["client_secret_basic", "none"]),
  scope: z.string(),
  resources: z.array(z.string()),
  disabled: z.boolean(),
  created_at: z.string().nullable(),
});

const schemas = {
  create: z.object({
    client_name: z.string().max(100),
    redirect_uris: z.array(z.string().url()).min(1).max(10),
    post_logout_redirect_uris: z
      .array(z.string().url())
      .max(10)
      .optional()
      .describe("where RP-initiated logout may return the browser (exact match); default none"),
    backchannel_logout_uri: z
      .string()
      .url()
      .optional()
      .describe("OIDC Back-Channel Logout 1.0: where a Logout Token is POSTed when a session ends; default none"),
    type: z.enum(["confidential", "public"]).optional().describe("default confidential"),
    scope: z
      .union([z.array(z.string()), z.string()])
      .optional()
      .describe("default openid profile email offline_access"),
    resources: z
      .array(z.string().url())
      .optional()
      .describe("RFC 8707 resources; default the issuer's default audience"),
  }),
  created: view.extend({ client_secret: z.string().optional().describe("shown once; confidential clients only") }),
  list: z.object({ oidc_clients: z.array(view) }),
};

/**
 * Browser (authorization code) clients of the authn Worker's OpenID
 * provider. Platform operators only: Better Auth's own client API and
 * dynamic registration are closed (GHSA-9h47-pqcx-hjr4), so this is the one
 * way a relying party is registered.
 *
 * - POST /oidc-clients `{ client_name, redirect_uris, post_logout_redirect_uris?, backchannel_logout_uri?, type?,
 *   scope?, resources? }`
 *   → 201 the client, `client_secret` once
 * - GET  /oidc-clients → `{ oidc_clients: [...] }`
 * - one client: read, change, disable, rotate its secret, delete (admin/oidc-client-item.ts)
 */
export function oidcClientRoutes(admin: AdminApp): void {
  route(
    admin,
    "post",
    "/oidc-clients",
    {
      summary: "Register a browser (OpenID Connect) client",
      body: schemas.create,
      response: schemas.created,
      status: 201,
    },
    async (c) => {
      const config = tokenConfig(c.env);
      const body = await readJsonObject(c);
      onlyFields(body, [
        "client_name",
        "redirect_uris",
        "post_logout_redirect_uris",
        "backchannel_logout_uri",
        "type",
        "scope",
        "resources",
      ]);
      const name = requiredString(body, "client_name", { max: 100 });
      const redirectUris =
        optionalList(body, "redirect_uris", { maxItems: 10, itemMax: 2048, check: isRedirectUri }) ?? [];
      if (redirectUris.length === 0) throw new HttpError("invalid_body", "redirect_uris: at least one is required");
      const postLogoutRedirectUris =
        optionalList(body, "post_logout_redirect_uris", { maxItems: 10, itemMax: 2048, check: isRedirectUri }) ?? [];
      const backchannelLogoutUri = optionalString(body, "backchannel_logout_uri", { max: 2048 });
      const type = oneOf(body, "type", ["confidential", "public"] as const, "confidential");
      const scopes = optionalList(body, "scope", { allowed: BROWSER_CLIENT_SCOPES, maxItems: 16, itemMax: 64 }) ?? [
        ...DEFAULT_SCOPES,
      ];
      // RFC 8707 §2: only audiences this issuer mints for (ALLOWED_AUDIENCES).
      const resources = optionalList(body, "resources", {
        allowed: config.allowedAudiences,
        maxItems: 8,
        itemMax: 2048,
      }) ?? [config.defaultAudience];
      try {
        const { client, clientSecret } = await registerBrowserClient(
          c.env.DB,
          {
            name,
            redirectUris,
            postLogoutRedirectUris,
            backchannelLogoutUri,
            type,
            scopes,
            resources,
          },
          config.issuer,
        );
        auditDetail(c, { action: "oidc_client.create", client_id: client.client_id });
        return c.json({ ...client, ...(clientSecret ? { client_secret: clientSecret } : {}) }, 201);
      } catch (error) {
        if (error instanceof BrowserClientInputError) throw new HttpError("invalid_body", error.message);
        throw error;
      }
    },
  );

  route(
    admin,
    "get",
    "/oidc-clients",
    { summary: "List browser (OpenID Connect) clients", response: schemas.list },
    async (c) => {
      auditDetail(c, { action: "oidc_client.list" });
      return c.json({ oidc_clients: await listBrowserClients(c.env.DB) });
    },
  );

  oidcClientItemRoutes(admin, { view, isRedirectUri });
}

function isRedirectUri(value: string): boolean {
  try {
    checkRedirectUri(value);
    return true;
  } catch {
    return false;
  }
}
