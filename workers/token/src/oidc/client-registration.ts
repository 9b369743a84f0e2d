import type { Context } from "hono";
import { eq, or } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { recordAuditInBackground } from "../../../../shared/audit/record-audit.ts";
import { DEMO_MCP_SERVER, mcpResource } from "../../../../shared/contracts/mcp.ts";
import { OIDC_CLIENT_ID_PREFIX, OIDC_GRANT_TYPE, OIDC_SCOPE } from "../../../../shared/contracts/oidc.ts";
import { SCOPE } from "../../../../shared/contracts/scopes.ts";
import { PLATFORM_ORG_ID } from "../../../../shared/contracts/tokens.ts";
import { generateClientSecret, hashSecret } from "../../../../shared/crypto/secret-hash.ts";
import { orgClientRegistration } from "../../../../shared/db/client-registration-schema.ts";
import { organization } from "../../../../shared/db/schema.ts";
import { httpErrorResponse } from "../../../../shared/errors/http.ts";
import { BodyTooLargeError, readBodyCapped } from "../../../../shared/http/read-body.ts";
import { illFormedStringPath } from "../../../../shared/http/read-json.ts";
import { NO_STORE_HEADERS, OAuthError, toOAuthErrorResponse } from "../../../../shared/errors/oauth.ts";
import {
  BROWSER_CLIENT_SCOPES,
  BrowserClientInputError,
  checkRedirectUri,
} from "../../../../shared/oidc/browser-clients.ts";
import { tokenConfig } from "../config.ts";
import { describedValue } from "../http/read-form.ts";

/**
 * Registrations one org may take per window, counted in D1 in the same
 * statement as the insert (below), so parallel requests cannot pass it
 * together. Enough for every MCP client an org's people connect; small
 * enough that an open endpoint cannot fill the client table.
 */
export const CLIENT_REGISTRATION_LIMIT = { perOrg: 10, windowSeconds: 3600 } as const;

/** RFC 7591 §2: a document of metadata, never large. */
const MAX_BODY_BYTES = 16 * 1024;
const MAX_REDIRECT_URIS = 10;
const DEFAULT_SCOPES = [OIDC_SCOPE.openid, OIDC_SCOPE.offlineAccess, SCOPE.documentsRead];
const AUTH_METHODS = ["none", "client_secret_basic"] as const;
const GRANT_TYPES: ReadonlySet<string> = new Set([OIDC_GRANT_TYPE.authorizationCode, OIDC_GRANT_TYPE.refreshToken]);

/** Stored in `oidc_client.metadata`: the org the client belongs to, read at every token (workers/authn/src/oidc/org-claim.ts). */
export interface RegisteredClientMetadata {
  org_id: string;
  registration: "dcr";
}

function metadataError(description: string): OAuthError {
  return new OAuthError("invalid_client_metadata", description);
}

/**
 * The org named in the path, when its admins turned dynamic registration on.
 * An exact id wins over any slug: an owner may have set their slug to
 * another org's id (before such slugs were refused at create and update), and
 * must never receive that org's registrations, whatever order D1 returns.
 */
async function registeringOrg(db: D1Database, org: string): Promise<string | undefined> {
  if (!org || org.length > 128 || org === PLATFORM_ORG_ID) return undefined;
  const rows = await drizzle(db)
    .select({ id: organization.id, on: orgClientRegistration.dynamicRegistration })
    .from(organization)
    .leftJoin(orgClientRegistration, eq(orgClientRegistration.orgId, organization.id))
    .where(or(eq(organization.id, org), eq(organization.slug, org)))
    .limit(2)
    .all();
  // The slug is unique, so at most one row matches each way.
  const row = rows.find((r) => r.id === org) ?? rows[0];
  return row?.on ? row.id : undefined;
}

interface Registration {
  name: string;
  redirectUris: string[];
  method: (typeof AUTH_METHODS)[number];
  grantTypes: string[];
  scopes: string[];
}

/** RFC 7591 §2 metadata, checked field by field; what we do not know is ignored (§3.1), what we refuse is named. */
function readRegistration(body: Record<string, unknown>): Registration {
  const uris = body.redirect_uris;
  if (!Array.isArray(uris) || uris.length === 0 || uris.length > MAX_REDIRECT_URIS) {
    throw new OAuthError("invalid_redirect_uri", `redirect_uris must list 1-${MAX_REDIRECT_URIS} URIs`);
  }
  const redirectUris: string[] = [];
  for (const uri of uris) {
    if (typeof uri !== "string" || uri.length > 2048)
      throw new OAuthError("invalid_redirect_uri", "redirect_uris must be strings");
    try {
      // The rules of operator-registered clients (RFC 9700 §2.1, §4.1.3): exact, https or loopback, no fragment or userinfo.
      redirectUris.push(checkRedirectUri(uri));
    } catch (error) {
      if (error instanceof BrowserClientInputError) throw new OAuthError("invalid_redirect_uri", error.message);
      throw error;
    }
  }
  // RFC 7591 §2: the default is client_secret_basic.
  const method = body.token_endpoint_auth_method ?? "client_secret_basic";
  if (typeof method !== "string" || !(AUTH_METHODS as readonly string[]).includes(method)) {
    throw metadataError(`token_endpoint_auth_method must be one of ${AUTH_METHODS.join(", ")}`);
  }
  const grantTypes = body.grant_types ?? [OIDC_GRANT_TYPE.authorizationCode, OIDC_GRANT_TYPE.refreshToken];
  if (!Array.isArray(grantTypes) || grantTypes.length === 0 || !grantTypes.every((g) => GRANT_TYPES.has(g))) {
    throw metadataError("grant_types may name authorization_code and refresh_token only");
  }
  if (!grantTypes.includes(OIDC_GRANT_TYPE.authorizationCode)) {
    throw metadataError("grant_types must include authorization_code");
  }
  const responseTypes = body.response_types ?? ["code"];
  if (!Array.isArray(responseTypes) || responseTypes.length !== 1 || responseTypes[0] !== "code") {
    throw metadataError("response_types must be [code] (RFC 9700 section 2.1.2)");
  }
  const scope = body.scope ?? DEFAULT_SCOPES.join(" ");
  if (typeof scope !== "string") throw metadataError("scope must be a space-separated string");
  const scopes = [...new Set(scope.split(" ").filter(Boolean))];
  const unknown = scopes.filter((s) => !BROWSER_CLIENT_SCOPES.has(s));
  if (scopes.length === 0 || unknown.length > 0)
    throw metadataError(`unknown scope ${describedValue(unknown.join(" "))}`.trim());
  const name = body.client_name ?? "MCP client";
  if (typeof name !== "string" || name.trim() === "" || name.length > 100) {
    throw metadataError("client_name must be 1-100 characters");
  }
  return {
    name: name.trim(),
    redirectUris,
    method: method as Registration["method"],
    grantTypes: [...new Set(grantTypes as string[])],
    scopes,
  };
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replaceAll("=", "");
}

/**
 * Writes the client only while the org is under its limit: the count and
 * the insert are one SQLite statement, and the resource link is written
 * only if the client was. Returns whether it was.
 */
async function insertUnderLimit(
  db: D1Database,
  orgId: string,
  clientId: string,
  secretHash: string | null,
  registration: Registration,
  resource: string,
): Promise<boolean> {
  const now = Date.now();
  const metadata: RegisteredClientMetadata = { org_id: orgId, registration: "dcr" };
  const [inserted] = await db.batch([
    db
      .prepare(
        `INSERT INTO oidc_client (id, client_id, client_secret, disabled, skip_consent, scopes, redirect_uris,
           token_endpoint_auth_method, grant_types, response_types, require_pkce, name, reference_id, metadata,
           created_at, updated_at)
         SELECT ?, ?, ?, 0, 0, ?, ?, ?, ?, '["code"]', 1, ?, ?, ?, ?, ?
         WHERE (SELECT COUNT(*) FROM oidc_client WHERE reference_id = ? AND created_at > ?) < ?`,
      )
      .bind(
        crypto.randomUUID(),
        clientId,
        secretHash,
        JSON.stringify(registration.scopes),
        JSON.stringify(registration.redirectUris),
        registration.method,
        JSON.stringify(registration.grantTypes),
        registration.name,
        orgId,
        JSON.stringify(metadata),
        now,
        now,
        orgId,
        now - CLIENT_REGISTRATION_LIMIT.windowSeconds * 1000,
        CLIENT_REGISTRATION_LIMIT.perOrg,
      ),
    db
      .prepare(
        `INSERT INTO oidc_resource (id, identifier, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (identifier) DO NOTHING`,
      )
      .bind(crypto.randomUUID(), resource, resource, now, now),
    db
      .prepare(
        `INSERT INTO oidc_client_resource (id, client_id, resource_id, created_at)
         SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM oidc_client WHERE client_id = ?)`,
      )
      .bind(crypto.randomUUID(), clientId, resource, now, clientId),
  ]);
  return (inserted?.meta.changes ?? 0) === 1;
}

/**
 * POST ENDPOINT.clientRegistration/{org}: RFC 7591 Dynamic Client
 * Registration for one org's MCP clients, open only while the org's admins
 * have turned it on (admin/client-registration.ts); otherwise, and for an
 * org that does not exist (no telling which), `403 access_denied
 * ERR_DCR_DISABLED`. The client is a browser (authorization code + PKCE)
 * client of the authn Worker's provider, public (`none`) or confidential
 * (`client_secret_basic`, the secret returned once and stored hashed),
 * belonging to the org: its tokens are for that org's people only
 * (workers/authn/src/oidc/org-claim.ts), and its resources are the demo and
 * the org's registered MCP servers (workers/authn/src/mcp-clients/org-resources.ts).
 * Limited per address (the token endpoint's limiter, index.ts) and per org
 * (CLIENT_REGISTRATION_LIMIT): 429 `rate_limited` with `Retry-After`.
 */
export async function clientRegistrationEndpoint(c: Context<{ Bindings: TokenEnv }>): Promise<Response> {
  const org = c.req.param("org") ?? "";
  try {
    const orgId = await registeringOrg(c.env.DB, org);
    if (!orgId)
      throw new OAuthError(
        "access_denied",
        "ERR_DCR_DISABLED: dynamic client registration is off for this organization",
      );
    const type = (c.req.header("Content-Type") ?? "").split(";")[0]?.trim().toLowerCase();
    if (type !== "application/json") throw metadataError("the body must be application/json (RFC 7591 section 3.1)");
    // Read under the cap as it arrives (shared/http/read-body.ts), never buffered whole first.
    const bytes = await readBodyCapped(c.req.raw, MAX_BODY_BYTES);
    let body: unknown;
    try {
      // RFC 8259 §8.1: UTF-8 only; a byte that is not is refused, not replaced with U+FFFD.
      body = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
    } catch {
      throw metadataError("the body is not UTF-8 JSON");
    }
    if (!body || typeof body !== "object" || Array.isArray(body)) throw metadataError("the body must be a JSON object");
    const illFormed = illFormedStringPath(body);
    if (illFormed !== null) {
      throw metadataError(
        `${describedValue(illFormed)}: not well-formed Unicode (an unpaired surrogate, RFC 8259 section 8.2)`,
      );
    }
    const registration = readRegistration(body as Record<string, unknown>);

    const clientId = `${OIDC_CLIENT_ID_PREFIX}${randomId()}`;
    const secret = registration.method === "none" ? undefined : generateClientSecret();
    const resource = mcpResource(tokenConfig(c.env).issuer, DEMO_MCP_SERVER.name);
    const created = await insertUnderLimit(
      c.env.DB,
      orgId,
      clientId,
      secret ? await hashSecret(secret) : null,
      registration,
      resource,
    );
    if (!created) {
      c.executionCtx.waitUntil(
        recordAuditInBackground(c.env, {
          kind: "client.registered",
          outcome: "refused",
          orgId,
          detail: { error: "rate_limited" },
        }),
      );
      return httpErrorResponse("rate_limited", "this organization registered too many clients recently", {
        "Retry-After": String(CLIENT_REGISTRATION_LIMIT.windowSeconds),
      });
    }
    c.executionCtx.waitUntil(
      recordAuditInBackground(c.env, {
        kind: "client.registered",
        outcome: "issued",
        orgId,
        clientId,
        detail: { token_endpoint_auth_method: registration.method, redirect_uris: registration.redirectUris },
      }),
    );
    // RFC 7591 §3.2.1: the client's id, its secret once, and the metadata as registered.
    return Response.json(
      {
        client_id: clientId,
        ...(secret ? { client_secret: secret, client_secret_expires_at: 0 } : {}),
        client_id_issued_at: Math.floor(Date.now() / 1000),
        client_name: registration.name,
        redirect_uris: registration.redirectUris,
        token_endpoint_auth_method: registration.method,
        grant_types: registration.grantTypes,
        response_types: ["code"],
        scope: registration.scopes.join(" "),
      },
      { status: 201, headers: NO_STORE_HEADERS },
    );
  } catch (error) {
    if (error instanceof BodyTooLargeError) {
      return httpErrorResponse("payload_too_large", `client metadata is at most ${error.maxBytes} bytes`);
    }
    return toOAuthErrorResponse(error);
  }
}
