// The cases of test/token/admin-object-isolation.test.ts: every admin route
// that names an object, with what a call under org A's path sends to name
// org B's, and the answer it must get.
import type { OrgObjects } from "./admin-object-isolation-fixtures.ts";
import { AUDIENCE } from "./fixtures.ts";
import { MEMBER_REQUEST } from "./policies-fixtures.ts";

export interface World {
  a: OrgObjects;
  b: OrgObjects;
}

export type Ids = Record<string, string>;

/** What a case sends: the path's parameters besides {org}, a query, a JSON body. */
export interface Sent {
  params: Ids;
  query?: Ids;
  body?: unknown;
}

/** One call under org A's path that names another org's object. */
export interface IsolationCase {
  /** What the variant names, when a route has more than one. */
  label?: string;
  /** The other org's ids the call names (in its path, query or body), by the name `request` reads them by. */
  foreign: (w: World) => Ids;
  /** What to send with those ids; default: the foreign ids are the path's parameters. */
  request?: (ids: Ids, w: World) => Sent;
  /** Ids nobody holds in their place (default: each foreign id with its letters and digits redrawn). */
  absent?: Ids;
  /** Default 404 `not_found`; a 2xx (a filtered list) is compared whole with the absent ids' answer. */
  expected?: { status: number; code?: string };
  /** Only org A's owner: the route refuses an operator's token whatever it names. */
  consoleOnly?: true;
}

const withBody =
  (body: unknown) =>
  (ids: Ids): Sent => ({ params: ids, body });

const INVALID_BODY = { status: 400, code: "invalid_body" };
const LISTED = { status: 200 };

const B = {
  accessRequest: (w: World) => ({ id: w.b.accessRequestId }),
  mcpGrant: (w: World) => ({ id: w.b.mcpGrantId }),
  client: (w: World) => ({ id: w.b.clientId }),
  delegationGrant: (w: World) => ({ id: w.b.delegationGrantId }),
  invite: (w: World) => ({ jti: w.b.inviteJti }),
  mcpServer: (w: World) => ({ name: w.b.mcpServerName }),
  member: (w: World) => ({ userId: w.b.memberId }),
  policyVersion: (w: World) => ({ version: String(w.b.policyVersion) }),
  scimToken: (w: World) => ({ id: w.b.scimTokenId }),
  ssfStream: (w: World) => ({ id: w.b.ssfStreamId }),
  trustedIssuer: (w: World) => ({ id: w.b.trustedIssuerId }),
  vaultConnection: (w: World) => ({ id: w.b.vaultConnectionId }),
  vaultProvider: (w: World) => ({ id: w.b.vaultProviderId }),
};

/** Org B has one policy version more than org A: B's newest number is none of A's, and neither is this. */
const NO_VERSION = { version: "999999999" };

/**
 * Every admin route under `/orgs/{org}/` with an object in its path, as the
 * OpenAPI document names it. A body is one the route would take for an
 * object of the caller's own org, so only the object's org can refuse it.
 */
export const CASES: Record<string, IsolationCase[]> = {
  "get /orgs/{org}/access-requests/{id}": [{ foreign: B.accessRequest }],
  "post /orgs/{org}/access-requests/{id}/approve": [{ foreign: B.accessRequest, request: withBody({}) }],
  "post /orgs/{org}/access-requests/{id}/deny": [{ foreign: B.accessRequest, request: withBody({ note: "no" }) }],
  "delete /orgs/{org}/mcp-grants/{id}": [{ foreign: B.mcpGrant }],
  "get /orgs/{org}/clients/{id}": [{ foreign: B.client }],
  "patch /orgs/{org}/clients/{id}": [{ foreign: B.client, request: withBody({ client_name: "renamed" }) }],
  "delete /orgs/{org}/clients/{id}": [{ foreign: B.client }],
  "post /orgs/{org}/clients/{id}/rotate-secret": [{ foreign: B.client }],
  "post /orgs/{org}/clients/{id}/disable": [{ foreign: B.client }],
  "delete /orgs/{org}/delegation-grants/{id}": [{ foreign: B.delegationGrant }],
  "delete /orgs/{org}/invites/{jti}": [{ foreign: B.invite }],
  "get /orgs/{org}/mcp-servers/{name}": [{ foreign: B.mcpServer }],
  "patch /orgs/{org}/mcp-servers/{name}": [{ foreign: B.mcpServer, request: withBody({ description: "changed" }) }],
  "delete /orgs/{org}/mcp-servers/{name}": [{ foreign: B.mcpServer }],
  "delete /orgs/{org}/members/{userId}": [{ foreign: B.member }],
  "patch /orgs/{org}/members/{userId}": [{ foreign: B.member, request: withBody({ role: "admin" }) }],
  "get /orgs/{org}/policies/{version}": [{ foreign: B.policyVersion, absent: NO_VERSION }],
  "post /orgs/{org}/policies/{version}/test": [{ foreign: B.policyVersion, absent: NO_VERSION }],
  "post /orgs/{org}/policies/{version}/publish": [{ foreign: B.policyVersion, absent: NO_VERSION }],
  "post /orgs/{org}/policies/{version}/rollback": [
    { foreign: B.policyVersion, absent: NO_VERSION, request: withBody({ run_tests: false }) },
  ],
  "delete /orgs/{org}/scim-tokens/{id}": [{ foreign: B.scimToken }],
  "get /orgs/{org}/ssf/streams/{id}": [{ foreign: B.ssfStream }],
  "delete /orgs/{org}/ssf/streams/{id}": [{ foreign: B.ssfStream }],
  "get /orgs/{org}/ssf/streams/{id}/status": [{ foreign: B.ssfStream }],
  "post /orgs/{org}/ssf/streams/{id}/status": [{ foreign: B.ssfStream, request: withBody({ status: "paused" }) }],
  "delete /orgs/{org}/trusted-issuers/{id}": [{ foreign: B.trustedIssuer }],
  // Refused to everyone for every id, an org's own included: the same answer says nothing of B's.
  "get /orgs/{org}/vault/connections/{id}/token": [
    { foreign: B.vaultConnection, expected: { status: 403, code: "saved_token_not_readable" } },
  ],
  "get /orgs/{org}/vault/connections/{id}": [{ foreign: B.vaultConnection }],
  "delete /orgs/{org}/vault/connections/{id}": [{ foreign: B.vaultConnection }],
  "post /orgs/{org}/vault/connections/{id}/agents": [
    {
      label: "B's connection, A's own agent",
      foreign: B.vaultConnection,
      request: (ids, w) => ({ params: ids, body: { client_id: w.a.clientId } }),
    },
    {
      label: "A's own connection, B's agent",
      foreign: (w) => ({ client: w.b.clientId }),
      request: (ids, w) => ({ params: { id: w.a.vaultConnectionId }, body: { client_id: ids.client } }),
    },
  ],
  "delete /orgs/{org}/vault/connections/{id}/agents/{client}": [
    {
      label: "B's connection and its bound agent",
      foreign: (w) => ({ id: w.b.vaultConnectionId, client: w.b.clientId }),
    },
    {
      label: "A's own connection, B's agent",
      foreign: (w) => ({ client: w.b.clientId }),
      request: (ids, w) => ({ params: { id: w.a.vaultConnectionId, client: ids.client as string } }),
    },
  ],
  "get /orgs/{org}/vault/providers/{id}": [{ foreign: B.vaultProvider }],
  "patch /orgs/{org}/vault/providers/{id}": [{ foreign: B.vaultProvider, request: withBody({ name: "renamed" }) }],
  "delete /orgs/{org}/vault/providers/{id}": [{ foreign: B.vaultProvider }],
  "post /orgs/{org}/vault/providers/{id}/connect": [{ foreign: B.vaultProvider, request: withBody({}) }],
};

/**
 * Routes with an object in the path but no org: platform-wide, for platform
 * operators only (admin/authorize.ts), whose reach is every org's objects.
 * An org admin naming another org's person or OIDC client there is 403 `forbidden`.
 */
export const PLATFORM_WIDE: ReadonlySet<string> = new Set([
  "get /oidc-clients/{id}",
  "patch /oidc-clients/{id}",
  "post /oidc-clients/{id}/rotate-secret",
  "delete /oidc-clients/{id}",
  "get /users/{id}/sessions",
  "post /users/{id}/sign-out",
  "post /users/{id}/ban",
  "delete /users/{id}/ban",
]);

/**
 * Routes that name an object in their body or query rather than their path
 * (not derived from the document: each was found by reading the route's
 * fields). The object is org B's; the rest of the call is org A's own.
 */
export const REFERENCES: Record<string, IsolationCase[]> = {
  "post /orgs/{org}/clients": [
    {
      label: "owner_user_id: B's member",
      foreign: (w) => ({ user: w.b.memberId }),
      request: (ids) => ({
        params: {},
        body: {
          client_name: "owned",
          client_type: "machine",
          scope: "documents:read",
          audiences: [AUDIENCE],
          owner_user_id: ids.user,
        },
      }),
      expected: INVALID_BODY,
    },
  ],
  "patch /orgs/{org}/clients/{id}": [
    {
      label: "A's client, owner_user_id: B's member",
      foreign: (w) => ({ user: w.b.memberId }),
      request: (ids, w) => ({ params: { id: w.a.clientId }, body: { owner_user_id: ids.user } }),
      expected: INVALID_BODY,
    },
  ],
  "post /orgs/{org}/delegation-grants": [
    {
      label: "subject: B's member",
      foreign: (w) => ({ user: w.b.memberId }),
      request: (ids, w) => ({ params: {}, body: delegation(ids.user as string, w.a.clientId) }),
      expected: INVALID_BODY,
    },
    {
      label: "actor_client_id: B's client",
      foreign: (w) => ({ client: w.b.clientId }),
      request: (ids, w) => ({ params: {}, body: delegation(w.a.memberId, ids.client as string) }),
      expected: INVALID_BODY,
    },
  ],
  "get /orgs/{org}/delegation-grants": [
    {
      label: "?subject=B's member&actor_client_id=B's client",
      foreign: (w) => ({ subject: w.b.memberId, actor_client_id: w.b.clientId }),
      request: (ids) => ({ params: {}, query: ids }),
      expected: LISTED,
    },
  ],
  "get /orgs/{org}/access-requests": [
    {
      label: "?client_id=B's client",
      foreign: (w) => ({ client_id: w.b.clientId }),
      request: (ids) => ({ params: {}, query: ids }),
      expected: LISTED,
    },
  ],
  "get /orgs/{org}/mcp-grants": [
    {
      label: "?client_id=B's client",
      foreign: (w) => ({ client_id: w.b.clientId }),
      request: (ids) => ({ params: {}, query: ids }),
      expected: LISTED,
    },
  ],
  "post /orgs/{org}/mcp-servers": [
    {
      label: "saved_connection: B's vault provider",
      foreign: (w) => ({ provider: w.b.vaultProviderId }),
      request: (ids) => ({
        params: {},
        body: {
          name: `iso-new-${crypto.randomUUID().slice(0, 8)}`,
          upstream: { binding: "DEMO" },
          tools: [{ name: "purge_documents", sensitivity: "sensitive" }],
          owner: "ops",
          saved_connection: ids.provider,
        },
      }),
      expected: INVALID_BODY,
    },
  ],
  "patch /orgs/{org}/mcp-servers/{name}": [
    {
      label: "A's server, saved_connection: B's vault provider",
      foreign: (w) => ({ provider: w.b.vaultProviderId }),
      request: (ids, w) => ({ params: { name: w.a.mcpServerName }, body: { saved_connection: ids.provider } }),
      expected: INVALID_BODY,
    },
  ],
  "post /orgs/{org}/policies/what-if": [
    {
      label: "version: B's newest",
      foreign: B.policyVersion,
      absent: NO_VERSION,
      request: (ids) => ({ params: {}, body: { request: MEMBER_REQUEST, version: Number(ids.version) } }),
    },
  ],
  "post /orgs/{org}/vault/providers/{id}/connect": [
    {
      label: "A's provider, owner: B's member",
      foreign: (w) => ({ user: w.b.memberId }),
      request: (ids, w) => ({ params: { id: w.a.vaultProviderId }, body: { owner: ids.user } }),
      expected: INVALID_BODY,
    },
  ],
  "post /orgs/{org}/vault/connect-links/inspect": [
    {
      label: "B's connect link",
      foreign: (w) => ({ link: w.b.connectLink }),
      request: (ids) => ({ params: {}, body: { link: ids.link } }),
      expected: { status: 400, code: "invalid_connect_link" },
    },
  ],
  "post /orgs/{org}/vault/connect-links/confirm": [
    {
      label: "B's connect link",
      foreign: (w) => ({ link: w.b.connectLink }),
      request: (ids) => ({ params: {}, body: { link: ids.link } }),
      expected: { status: 400, code: "invalid_connect_link" },
      consoleOnly: true,
    },
  ],
};

function delegation(subject: string, actor: string) {
  return { subject, actor_client_id: actor, scopes: ["documents:read"], audiences: [AUDIENCE] };
}
