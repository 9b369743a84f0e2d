// Object-level tenant isolation of the admin API: under its own org's path
// (`/orgs/{A}/…`), a caller naming an object of another org B (a client, an
// invite, a grant, a policy version, a stream, a saved connection, a
// member …) is answered 404 `not_found`, exactly as for an id nobody holds:
// never the object, never a change to it, never a 403 that would say it
// exists elsewhere. admin/authorize.ts checks only the org in the path; each
// route must then look its object up in that org, and this file holds every
// route to it (the cases: admin-object-isolation-cases.ts). The routes come
// from the OpenAPI document the Worker serves, so a route added with an
// object in its path and no case fails the coverage check below until one is
// written. An object named in a body or query field (REFERENCES) gets the
// answer an unknown value gets, too. One world for the whole file: two orgs
// with one object of every kind each (admin-object-isolation-fixtures.ts).
import { exports } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { adminRequest, adminToken, expectHttpError } from "./admin-fixtures.ts";
import {
  CASES,
  type Ids,
  type IsolationCase,
  PLATFORM_WIDE,
  REFERENCES,
  type Sent,
  type World,
} from "./admin-object-isolation-cases.ts";
import { orgState, orgWithEveryObject } from "./admin-object-isolation-fixtures.ts";
import { routeUpstream } from "./vault-fixtures.ts";

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

function concrete(template: string, orgId: string, sent: Sent): string {
  const path = template.replace(/\{([^}]+)\}/g, (_all, name: string) => {
    const value = name === "org" ? orgId : sent.params[name];
    if (value === undefined) throw new Error(`${template}: no value for {${name}}`);
    return encodeURIComponent(value);
  });
  return sent.query ? `${path}?${new URLSearchParams(sent.query)}` : path;
}

/** A description with these ids blanked out, to compare two answers that name different ids. */
function blanked(description: string, ids: string[]): string {
  return ids.reduce((text, id) => text.replaceAll(id, "<id>"), description);
}

/**
 * Calls `route` under org A's path naming org B's objects, then naming ids
 * nobody holds: the exact answer, the same for both (B's object is not told
 * apart from nothing), nothing of B's in it, and neither org changed.
 */
async function expectIsolated(route: string, isolation: IsolationCase, call: Caller): Promise<void> {
  const [method, template] = route.split(" ") as [string, string];
  const { a, b } = world;
  const expected = isolation.expected ?? { status: 404, code: "not_found" };
  const foreign = isolation.foreign(world);
  const absent = isolation.absent ?? Object.fromEntries(Object.entries(foreign).map(([k, v]) => [k, redrawn(v)]));
  const request = isolation.request ?? ((ids: Ids): Sent => ({ params: ids }));
  const send = (sent: Sent) =>
    call(method.toUpperCase(), concrete(template, a.orgId, sent), sent.body, world, operator);
  const ids = [...Object.values(foreign), ...Object.values(absent)];
  const [beforeA, beforeB] = await Promise.all([orgState(a.orgId), orgState(b.orgId)]);

  const answer = await send(request(foreign, world));
  const text = await answer.clone().text();
  // Nothing of B's in the answer: neither its org's id nor its owner's.
  expect(text).not.toContain(b.orgId);
  expect(text).not.toContain(b.owner.userId);
  const none = await send(request(absent, world));
  if (expected.code === undefined) {
    expect(answer.status, text).toBe(expected.status);
    expect(none.status).toBe(expected.status);
    expect(blanked(text, ids)).toBe(blanked(await none.text(), ids));
  } else {
    const refused = await expectHttpError(answer, expected.status, expected.code);
    // The route's own refusal, not the router's for a path it does not serve.
    expect(refused.error_description).not.toMatch(/^no such (endpoint|admin route)$/);
    const nobody = await expectHttpError(none, expected.status, expected.code);
    expect(blanked(refused.error_description as string, ids)).toBe(blanked(nobody.error_description as string, ids));
  }

  // Neither org changed: every D1 row each holds, its revocations and its published policy.
  const [afterA, afterB] = await Promise.all([orgState(a.orgId), orgState(b.orgId)]);
  expect(afterB).toEqual(beforeB);
  expect(afterA).toEqual(beforeA);
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
      "routes naming an object under /orgs/{org}/ without a case in CASES (admin-object-isolation-cases.ts): add one",
    ).toEqual([]);
    expect(
      platform.filter((r) => !PLATFORM_WIDE.has(r)),
      "routes naming an object outside /orgs/{org}/: add them to PLATFORM_WIDE if they are platform operators' only",
    ).toEqual([]);
    expect(
      Object.keys(CASES).filter((r) => !inOrg.includes(r)),
      "cases for routes the Worker no longer serves",
    ).toEqual([]);
    const served = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method} ${path}`),
    );
    expect(
      Object.keys(REFERENCES).filter((r) => !served.includes(r)),
      "REFERENCES cases for routes the Worker no longer serves",
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

  for (const [route, cases] of [CASES, REFERENCES].flatMap((t) => Object.entries(t).map(([r, c]) => [r, c] as const))) {
    for (const isolation of cases) {
      for (const [who, call] of CALLERS) {
        if (isolation.consoleOnly && call !== asOwnerOfA) continue;
        it(`${route}${isolation.label ? ` (${isolation.label})` : ""}, by ${who}`, () =>
          expectIsolated(route, isolation, call));
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
