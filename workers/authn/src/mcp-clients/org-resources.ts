import type { ClientDiscovery } from "@better-auth/oauth-provider";
import type { BetterAuthPlugin } from "better-auth";
import { APIError, createAuthMiddleware, getSessionFromCtx } from "better-auth/api";
import { and, eq, inArray } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { isMcpResource } from "../../../../shared/contracts/mcp.ts";
import { mcpServer } from "../../../../shared/db/mcp-schema.ts";
import { oidcClient, oidcClientResource, oidcResource } from "../../../../shared/db/schema.ts";

/** Better Auth's path of the authorization endpoint (OIDC_ENDPOINT.authorize without the auth API prefix). */
const AUTHORIZE_PATH = "/oauth2/authorize";

/**
 * The MCP servers an org registered (workers/token/src/mcp/registry.ts) as
 * RFC 8707 resources of the browser flow: a person may authorize a client
 * for `<issuer>/mcp/<name>` while their active org has that server active,
 * on top of the fixed resources (ALLOWED_AUDIENCES' API audience and the
 * demo, oidc/runtime.ts) which stay per client. Two orgs may register the
 * same name, so one identifier can be one org's server and not another's:
 * the org is what decides, checked where it is known — at authorize once
 * the person is signed in (the hook below), and at every token the code or
 * refresh token yields (`assertActiveIn`, from the provider's
 * customAccessTokenClaims with the grant's org), and by the signer in the
 * token Worker (workers/token/src/oidc/sign-browser-token.ts).
 */
export interface OrgMcpResources {
  /** The requested resources this gate decides: the issuer's MCP resources that are not fixed ones. */
  candidates(resources: readonly string[]): string[];
  /** RFC 8707 §2 `invalid_target` unless every candidate among `resources` is active in the org. */
  assertActiveIn(orgId: string, resources: readonly string[] | undefined): Promise<void>;
}

export interface OrgMcpResourceStore extends OrgMcpResources {
  /** The candidates the org (or, with none given, any org) has active. */
  active(list: readonly string[], orgId?: string): Promise<Set<string>>;
  link(clientId: string, resources: readonly string[]): Promise<void>;
  /** The client's redirect URIs, or undefined when there is no such enabled client. */
  registeredRedirectUris(clientId: string): Promise<string[] | undefined>;
}

export function orgMcpResources(db: D1Database, issuer: string, fixed: readonly string[]): OrgMcpResourceStore {
  const fixedSet = new Set(fixed);
  const orm = drizzle(db);

  function candidates(resources: readonly string[]): string[] {
    return [...new Set(resources.filter((r) => !fixedSet.has(r) && isMcpResource(issuer, r)))];
  }

  /** The candidates some org (or the given one) has active. */
  async function active(list: readonly string[], orgId?: string): Promise<Set<string>> {
    if (list.length === 0) return new Set();
    const where = [eq(mcpServer.status, "active"), inArray(mcpServer.resource, [...list])];
    if (orgId) where.push(eq(mcpServer.orgId, orgId));
    const rows = await orm
      .selectDistinct({ resource: mcpServer.resource })
      .from(mcpServer)
      .where(and(...where))
      .all();
    return new Set(rows.map((r) => r.resource));
  }

  async function assertActiveIn(orgId: string, resources: readonly string[] | undefined): Promise<void> {
    const list = candidates(resources ?? []);
    if (list.length === 0) return;
    const live = await active(list, orgId);
    const refused = list.filter((r) => !live.has(r));
    if (refused.length > 0) throw invalidTarget(refused);
  }

  /**
   * Better Auth's own RFC 8707 check (enforcePerClientResources) wants an
   * `oidc_resource` row and a link from the client to it; for these
   * resources the org decides instead (above), so the row and the link are
   * written once the org check has passed, and mean only "some org serves
   * it". Never for a client that does not exist (the link's foreign key).
   */
  async function link(clientId: string, resources: readonly string[]): Promise<void> {
    if (resources.length === 0) return;
    const client = await orm
      .select({ id: oidcClient.id })
      .from(oidcClient)
      .where(eq(oidcClient.clientId, clientId))
      .get();
    if (!client) return;
    const now = new Date();
    const statements = [
      ...resources.map((identifier) =>
        orm
          .insert(oidcResource)
          .values({ id: crypto.randomUUID(), identifier, name: identifier, createdAt: now, updatedAt: now })
          .onConflictDoNothing(),
      ),
      ...resources.map((identifier) =>
        orm
          .insert(oidcClientResource)
          .values({ id: crypto.randomUUID(), clientId, resourceId: identifier, createdAt: now })
          .onConflictDoNothing(),
      ),
    ];
    await orm.batch(statements as unknown as Parameters<typeof orm.batch>[0]);
  }

  async function registeredRedirectUris(clientId: string): Promise<string[] | undefined> {
    const row = await orm
      .select({ redirectUris: oidcClient.redirectUris, disabled: oidcClient.disabled })
      .from(oidcClient)
      .where(eq(oidcClient.clientId, clientId))
      .get();
    if (!row || row.disabled) return undefined;
    return (row.redirectUris as string[] | null) ?? [];
  }

  return { candidates, active, assertActiveIn, link, registeredRedirectUris };
}

function invalidTarget(refused: readonly string[]): APIError {
  return new APIError("BAD_REQUEST", {
    error: "invalid_target",
    error_description: `the resource ${refused.join(", ")} is not an MCP server of your organization`,
  });
}

function resourceList(value: unknown): string[] {
  if (typeof value === "string") return value ? [value] : [];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string" && v.length > 0);
  return [];
}

/**
 * Before Better Auth's authorize handler: the org's MCP servers among the
 * requested resources. Signed in, every one must be active in the person's
 * active org, or the answer is `invalid_target` (RFC 8707 §2), redirected
 * to the client with `state` and `iss` (RFC 6749 §4.1.2.1, RFC 9207) when
 * its redirect URI is registered exactly, else shown here. Not signed in
 * yet (the provider sends the person to sign in, and the request comes back
 * through resume-authorization.ts), a resource no org serves is left to the
 * provider's own refusal. A Client ID Metadata Document client seen for the
 * first time is resolved first, so the link has a client to point at.
 */
export function orgMcpResourcesPlugin(store: OrgMcpResourceStore, issuer: string, discovery?: ClientDiscovery) {
  return {
    id: "mono-auth-org-mcp-resources",
    hooks: {
      before: [
        {
          matcher: (ctx: { path?: string }) => ctx.path === AUTHORIZE_PATH,
          handler: createAuthMiddleware(async (ctx) => {
            const query = (ctx.query ?? {}) as Record<string, unknown>;
            const list = store.candidates(resourceList(query.resource));
            const clientId = typeof query.client_id === "string" ? query.client_id : "";
            if (list.length === 0 || !clientId) return;
            const session = await getSessionFromCtx(ctx);
            if (session) {
              const orgId = (session.session as { activeOrganizationId?: string | null }).activeOrganizationId;
              const live = orgId ? await store.active(list, orgId) : new Set<string>();
              const refused = list.filter((r) => !live.has(r));
              if (refused.length > 0) {
                const uris = await store.registeredRedirectUris(clientId);
                const redirectUri = typeof query.redirect_uri === "string" ? query.redirect_uri : "";
                if (!uris?.includes(redirectUri)) throw invalidTarget(refused);
                const back = new URL(redirectUri);
                back.searchParams.set("error", "invalid_target");
                back.searchParams.set("error_description", invalidTarget(refused).body?.error_description ?? "");
                if (typeof query.state === "string") back.searchParams.set("state", query.state);
                back.searchParams.set("iss", issuer);
                throw ctx.redirect(back.toString());
              }
            }
            const served = session ? list : [...(await store.active(list))];
            if (discovery?.matches(clientId) && !(await store.registeredRedirectUris(clientId))) {
              // A refusal here is the provider's to give again, with its own code.
              await Promise.resolve()
                .then(() => discovery.resolve(ctx, clientId, null))
                .catch(() => undefined);
            }
            await store.link(clientId, served);
          }),
        },
      ],
    },
  } satisfies BetterAuthPlugin;
}
