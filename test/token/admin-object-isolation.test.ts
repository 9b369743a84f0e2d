// Object-level tenant isolation of the admin API: under its own org's path
// (`/orgs/{A}/…`), a caller naming an object of another org B (a client, an
// invite, a grant, a policy version, a stream, a saved connection, a
// member …) is answered 404 `not_found`, exactly as for an id nobody holds:
// never the object, never a change to it, never a 403 that would say it
// exists elsewhere. admin/authorize.ts checks only the org in the path; each
// route must then look its object up in that org, and this file holds every
// route to it. The routes come from the OpenAPI document the Worker serves,
// so a route added with an object in its path and no case here fails the
// coverage check below until one is written.
import { exports } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import { type OrgObjects, orgState, orgWithEveryObject } from "./admin-object-isolation-fixtures.ts";
import { routeUpstream } from "./vault-fixtures.ts";

interface World {
  a: OrgObjects;
  b: OrgObjects;
}

type Ids = Record<string, string>;

/** One call under org A's path that names another org's object. */
interface IsolationCase {
  /** What the variant names, when a route has more than one. */
  label?: string;
  /** The other org's ids the call names (in its path or body), by the name `request` reads them by. */
  foreign: (w: World) => Ids;
  /** The path's parameters besides {org}, and the body; default: the foreign ids are the parameters. */
  request?: (ids: Ids, w: World) => { params: Ids; body?: unknown };
  /** Ids nobody holds in their place (default: each foreign id with its letters and digits redrawn). */
  absent?: Ids;
  /** Default 404 `not_found`. */
  expected?: { status: number; code: string };
}

const withBody =
  (body: unknown) =>
  (ids: Ids): { params: Ids; body: unknown } => ({ params: ids, body });

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
const CASES: Record<string, IsolationCase[]> = {
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
const PLATFORM_WIDE: ReadonlySet<string> = new Set([
  "get /oidc-clients/{id}",
  "patch /oidc-clients/{id}",
  "post /oidc-clients/{id}/rotate-secret",
  "delete /oidc-clients/{id}",
  "get /users/{id}/sessions",
  "post /users/{id}/sign-out",
  "post /users/{id}/ban",
  "delete /users/{id}/ban",
]);

type Caller = (method: string, path: string, body: unknown, w: World, operator: string) => Promise<Response>;

/** Org A's owner, through the console's RPC (admin/console-entrypoint.ts), as the console calls. */
const asOwnerOfA: Caller = (method, path, body, w) =>
  exports.ConsoleAdmin.fetchAs(
    w.a.owner.token,
    new Request(`http://localhost${ENDPOINT.admin}${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) }),
    }),
  );

/** A platform operator's bearer token, as the CLI calls: its reach is every org, and still only the path's. */
const asOperator: Caller = (method, path, body, _w, operator) => adminRequest(method, path, { token: operator, body });

const CALLERS: [string, Caller][] = [
  ["org A's owner (console session)", asOwnerOfA],
  ["a platform operator (token)", asOperator],
];

/** The same shape of id, naming nothing: letters and digits redrawn, each of its own class. */
function redrawn(id: string): string {
  const pick = (chars: string) => chars[Math.floor(Math.random() * chars.length)] as string;
  return id
    .replace(/[a-z]/g, () => pick("abcdefghijklmnopqrstuvwxyz"))
    .replace(/[A-Z]/g, () => pick("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    .replace(/[0-9]/g, () => pick("0123456789"));
}

function concrete(template: string, orgId: string, params: Ids): string {
  return template.replace(/\{([^}]+)\}/g, (_all, name: string) => {
    const value = name === "org" ? orgId : params[name];
    if (value === undefined) throw new Error(`${template}: no value for {${name}}`);
    return encodeURIComponent(value);
  });
}

/** A description with these ids blanked out, to compare two answers that name different ids. */
function blanked(description: string, ids: string[]): string {
  return ids.reduce((text, id) => text.replaceAll(id, "<id>"), description);
}

let world: World;
let operator: string;

beforeAll(async () => {
  routeUpstream();
  operator = await adminToken();
  // Org B holds one policy version more than org A (versions are numbered per org).
  const [a, b] = await Promise.all([orgWithEveryObject(operator, 1), orgWithEveryObject(operator, 2)]);
  world = { a, b };
}, 60_000);

afterAll(() => {
  vi.restoreAllMocks();
});

describe("admin API: another org's object under one's own org's path", () => {
  it("has a case for every route that names an object, from the OpenAPI document the Worker serves", async () => {
    const response = await exports.default.fetch(new Request(`http://localhost${ENDPOINT.adminOpenApi}`));
    const document = (await response.json()) as { paths: Record<string, Record<string, unknown>> };
    const named = Object.entries(document.paths).flatMap(([path, item]) => {
      const params = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).filter((p) => p !== "org");
      return params.length === 0 ? [] : Object.keys(item).map((method) => `${method} ${path}`);
    });
    const inOrg = named.filter((r) => r.split(" ")[1]?.startsWith("/orgs/{org}/"));
    const platform = named.filter((r) => !inOrg.includes(r));
    const missing = inOrg.filter((r) => !(r in CASES));
    expect(
      missing,
      "routes naming an object under /orgs/{org}/ without a case in CASES (admin-object-isolation.test.ts): add one",
    ).toEqual([]);
    expect(
      platform.filter((r) => !PLATFORM_WIDE.has(r)),
      "routes naming an object outside /orgs/{org}/: add them to PLATFORM_WIDE if they are platform operators' only",
    ).toEqual([]);
    expect(
      Object.keys(CASES).filter((r) => !inOrg.includes(r)),
      "cases for routes the Worker no longer serves",
    ).toEqual([]);
    expect(
      [...PLATFORM_WIDE].filter((r) => !platform.includes(r)),
      "PLATFORM_WIDE routes no longer served",
    ).toEqual([]);
  });

  it("compares what the cases name: org B's recorded state holds each of its objects", async () => {
    const { b } = world;
    const state = await orgState(b.orgId);
    const holds = (table: string, id: string) =>
      expect(
        (state[table] as string[] | undefined)?.some((row) => row.includes(JSON.stringify(id))),
        `${table} holds ${id}`,
      ).toBe(true);
    holds("oauth_client", b.clientId);
    holds("member", b.memberId);
    holds("host_invite", b.inviteJti);
    holds("delegation_grant", b.delegationGrantId);
    holds("mcp_server", b.mcpServerName);
    holds("mcp_access_request", b.accessRequestId);
    holds("mcp_grant", b.mcpGrantId);
    holds("trusted_issuer", b.trustedIssuerId);
    holds("ssf_stream", b.ssfStreamId);
    holds("scim_token", b.scimTokenId);
    holds("vault_provider", b.vaultProviderId);
    holds("vault_connection", b.vaultConnectionId);
    holds("vault_connection_agent", b.clientId);
    expect(state.policy_version).toHaveLength(b.policyVersion);
    expect(b.policyVersion).toBeGreaterThan(world.a.policyVersion);
    expect(state.policy_publication).toMatchObject({ version: 1 });
  });

  for (const [route, cases] of Object.entries(CASES)) {
    const [method, template] = route.split(" ") as [string, string];
    for (const isolation of cases) {
      for (const [who, call] of CALLERS) {
        const name = `${route}${isolation.label ? ` (${isolation.label})` : ""}, by ${who}`;
        it(name, async () => {
          const { a, b } = world;
          const expected = isolation.expected ?? { status: 404, code: "not_found" };
          const foreign = isolation.foreign(world);
          const absent =
            isolation.absent ?? Object.fromEntries(Object.entries(foreign).map(([k, v]) => [k, redrawn(v)]));
          const request = isolation.request ?? ((ids: Ids): { params: Ids; body?: unknown } => ({ params: ids }));
          const [beforeA, beforeB] = await Promise.all([orgState(a.orgId), orgState(b.orgId)]);

          const named = request(foreign, world);
          const answer = await call(
            method.toUpperCase(),
            concrete(template, a.orgId, named.params),
            named.body,
            world,
            operator,
          );
          const text = await answer.clone().text();
          const refused = await expectHttpError(answer, expected.status, expected.code);
          // The route's own refusal, not the router's for a path it does not serve.
          expect(refused.error_description).not.toMatch(/^no such (endpoint|admin route)$/);
          // Nothing of B's in the answer: neither its org's id nor its owner's.
          expect(text).not.toContain(b.orgId);
          expect(text).not.toContain(b.owner.userId);

          // An id nobody holds gets the same answer: B's object is not told apart from nothing.
          const control = request(absent, world);
          const none = await expectHttpError(
            await call(
              method.toUpperCase(),
              concrete(template, a.orgId, control.params),
              control.body,
              world,
              operator,
            ),
            expected.status,
            expected.code,
          );
          const ids = [...Object.values(foreign), ...Object.values(absent)];
          expect(blanked(refused.error_description as string, ids)).toBe(
            blanked(none.error_description as string, ids),
          );

          // Neither org changed: every D1 row each holds, its revocations and its published policy.
          const [afterA, afterB] = await Promise.all([orgState(a.orgId), orgState(b.orgId)]);
          expect(afterB).toEqual(beforeB);
          expect(afterA).toEqual(beforeA);
        });
      }
    }
  }

  for (const route of PLATFORM_WIDE) {
    const [method, template] = route.split(" ") as [string, string];
    it(`${route} is refused to org A's owner naming org B's person or any object`, async () => {
      const { b } = world;
      const before = await orgState(b.orgId);
      const path = template.replace(/\{[^}]+\}/g, encodeURIComponent(b.memberId));
      await expectHttpError(await asOwnerOfA(method.toUpperCase(), path, undefined, world, operator), 403, "forbidden");
      expect(await orgState(b.orgId)).toEqual(before);
    });
  }
});
