// The hostile-input sweep on the token Worker (test/support/hostile-input.ts):
// every public endpoint, with every method it takes, gets malformed and
// wrong-typed bodies, wrong Content-Types, bodies over the cap, NUL, non-UTF-8
// bytes and lone surrogates in fields, path segments and query values,
// repeated parameters, overlong headers and garbage credentials. No answer may
// be a 5xx, carry a stack trace or a secret, or (OAuth, admin, agent, SSF and
// vault endpoints alike) be anything but JSON with a string `error`. The admin,
// agent, vault and SSF routes are read from their routers, so a new route is
// swept without being listed here.
import { exports } from "cloudflare:workers";
import type { Hono } from "hono";
import type { ZodType } from "zod";
import { beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { AGENT_API } from "../../shared/contracts/mcp.ts";
import { GRANT_TYPE, TOKEN_TYPE } from "../../shared/contracts/tokens.ts";
import { VAULT_PATH } from "../../shared/contracts/vault.ts";
import { SSF_PATH } from "../../shared/contracts/ssf.ts";
import { adminRouter } from "../../workers/token/src/admin/router.ts";
import { registeredRoutes } from "../../workers/token/src/admin/route.ts";
import { agentApi } from "../../workers/token/src/mcp/agent-api.ts";
import { ssfRoutes } from "../../workers/token/src/ssf/routes.ts";
import { vaultFlowRoutes } from "../../workers/token/src/vault/routes.ts";
import { type SweptEndpoint, sweep } from "../support/hostile-input.ts";
import { TEST_SECRETS } from "../support/secrets.ts";
import { adminToken } from "./admin-fixtures.ts";
import {
  basicAuthorization,
  clientToken,
  createTestOrg,
  registerTestClient,
  type TestClient,
} from "./clients-fixtures.ts";
import { freshClientAddress, seedUser } from "./fixtures.ts";
import { createVersion } from "./policies-fixtures.ts";
import { createStream, receiverToken, registerReceiver } from "./ssf-fixtures.ts";
import { seedMemberSession, sessionCookie } from "./vault-fixtures.ts";

const ORIGIN = "http://localhost";
const SECRETS = Object.entries(TEST_SECRETS)
  .filter(([name]) => name !== "GATEWAY_ASSERTION_JWKS")
  .map(([, value]) => value);
const fetcher = (request: Request) => exports.default.fetch(request);
/** A fresh address per request: the token endpoint's per-address limit never counts the sweep. */
const edge = () => ({ "cf-connecting-ip": freshClientAddress() });
const bearer = (token: string) => () => ({ Authorization: `Bearer ${token}` });

let client: TestClient;
let operator: string;
let agent: string;
let receiver: { orgId: string; token: string };
let cookie: string;

beforeAll(async () => {
  client = await registerTestClient({
    grantTypes: [GRANT_TYPE.clientCredentials, GRANT_TYPE.tokenExchange, GRANT_TYPE.jwtBearer],
  });
  operator = await adminToken();
  agent = await clientToken(await registerTestClient());
  const ssfClient = await registerReceiver();
  receiver = { orgId: ssfClient.orgId as string, token: await receiverToken(ssfClient) };
  const orgId = await createTestOrg();
  cookie = sessionCookie(await seedMemberSession(orgId));
});

const basic = () => ({ Authorization: basicAuthorization(client.clientId, client.secret) });

/** Hono's routes of a sub-app, but its catch-alls and middleware. */
function honoRoutes(app: Hono<never>): { method: string; path: string }[] {
  return app.routes.filter((r) => r.method !== "ALL" && !r.path.endsWith("*"));
}

/** The top-level keys of a route's body schema (zod objects, through optional/nullable wrappers). */
function schemaKeys(schema: ZodType | undefined): string[] {
  let current: unknown = schema;
  for (let i = 0; i < 5 && current; i++) {
    const shape = (current as { shape?: Record<string, unknown> }).shape;
    if (shape && typeof shape === "object") return Object.keys(shape);
    current = (current as { def?: { innerType?: unknown } }).def?.innerType;
  }
  return [];
}

const GENERIC_FIELDS = ["name", "resource", "upstream_url", "tools", "url", "reason", "status", "client_id"];

describe.concurrent("hostile input at the OAuth endpoints: RFC 6749 JSON, never a 5xx", () => {
  const tokenFields = [
    "scope",
    "resource",
    "audience",
    "subject_token",
    "subject_token_type",
    "actor_token",
    "actor_token_type",
    "requested_token_type",
    "assertion",
  ];
  const grants = [...Object.values(GRANT_TYPE), "authorization_code", "refresh_token", "password"];
  it.each(grants)("POST /oauth2/token grant_type=%s, client_secret_basic", async (grantType) => {
    // A token exchange of an access token reaches the subject token's own parsing.
    const exchange = grantType === GRANT_TYPE.tokenExchange;
    const endpoint: SweptEndpoint = {
      method: "POST",
      path: ENDPOINT.token,
      headers: edge,
      auth: basic,
      body: "form",
      refusesIllFormed: true,
      base: exchange
        ? { grant_type: grantType, subject_token_type: TOKEN_TYPE.accessToken }
        : { grant_type: grantType },
      fields: exchange ? tokenFields.filter((f) => f !== "subject_token_type") : tokenFields,
      errors: "oauth",
    };
    expect(await sweep(fetcher, ORIGIN, endpoint, SECRETS)).toBeGreaterThan(50);
  });

  it("POST /oauth2/token token exchange of a live token of the client's own, everything else hostile", async () => {
    // Past the subject token's checks, to the actor, the target, the scope and the requested type.
    const subject = await clientToken(client);
    await sweep(
      fetcher,
      ORIGIN,
      {
        method: "POST",
        path: ENDPOINT.token,
        headers: edge,
        auth: basic,
        body: "form",
        refusesIllFormed: true,
        base: {
          grant_type: GRANT_TYPE.tokenExchange,
          subject_token: subject,
          subject_token_type: TOKEN_TYPE.accessToken,
        },
        fields: ["actor_token", "actor_token_type", "requested_token_type", "audience", "resource", "scope"],
        errors: "oauth",
      },
      SECRETS,
    );
  });

  it("POST /oauth2/token with every client-authentication field hostile (post, private_key_jwt)", async () => {
    await sweep(
      fetcher,
      ORIGIN,
      {
        method: "POST",
        path: ENDPOINT.token,
        headers: edge,
        body: "form",
        fields: ["grant_type", "client_id", "client_secret", "client_assertion_type", "client_assertion", "scope"],
        errors: "oauth",
      },
      SECRETS,
    );
  });

  it.each([ENDPOINT.revocation, ENDPOINT.introspection])("POST %s", async (path) => {
    await sweep(
      fetcher,
      ORIGIN,
      {
        method: "POST",
        path,
        headers: edge,
        auth: basic,
        body: "form",
        refusesIllFormed: true,
        fields: ["token", "token_type_hint"],
        errors: "oauth",
      },
      SECRETS,
    );
  });

  it("POST /oauth2/host-bootstrap", async () => {
    await sweep(
      fetcher,
      ORIGIN,
      {
        method: "POST",
        path: ENDPOINT.hostBootstrap,
        headers: edge,
        body: "json",
        fields: ["invite", "proof"],
        errors: "oauth",
      },
      SECRETS,
    );
  });

  it("POST /oauth2/register/:org (RFC 7591), on an org that has it on", async () => {
    const opened = await fetcher(
      new Request(`${ORIGIN}${ENDPOINT.admin}/orgs/${receiver.orgId}/client-registration`, {
        method: "PUT",
        headers: { Authorization: `Bearer ${operator}`, "Content-Type": "application/json" },
        body: JSON.stringify({ dynamic_client_registration: true }),
      }),
    );
    expect(opened.status).toBe(200);
    await sweep(
      fetcher,
      ORIGIN,
      {
        method: "POST",
        path: `${ENDPOINT.clientRegistration}/:org`,
        params: { org: receiver.orgId },
        headers: edge,
        body: "json",
        fields: ["client_name", "redirect_uris", "grant_types", "token_endpoint_auth_method", "jwks_uri", "scope"],
        refusesIllFormed: true,
        errors: "oauth",
      },
      SECRETS,
    );
  });

  it.each([
    ENDPOINT.health,
    ENDPOINT.authorizationServerMetadata,
    ENDPOINT.openIdConfiguration,
    ENDPOINT.jwks,
    ENDPOINT.ssfConfiguration,
  ])("GET %s", async (path) => {
    await sweep(fetcher, ORIGIN, { method: "GET", path, errors: "oauth" }, SECRETS);
  });
});

describe.concurrent("hostile input at the admin API: problem documents, never a 5xx", () => {
  const routes = registeredRoutes(adminRouter()).map((r) => ({
    name: `${r.method.toUpperCase()} ${r.path}`,
    route: r,
  }));

  /** Ids that exist, so a route on one reaches its own checks rather than a 404. */
  async function existing(orgId: string, path: string): Promise<Record<string, string>> {
    if (path.includes("/clients/:id")) return { id: (await registerTestClient({ orgId })).clientId };
    if (path.startsWith("/users/:id")) return { id: await seedUser() };
    if (path.includes("/policies/:version")) return { version: String((await createVersion(operator, orgId)).version) };
    return {};
  }

  it.each(routes)("$name", async ({ route }) => {
    const orgId = await createTestOrg();
    const fields = schemaKeys(route.body);
    const endpoint: SweptEndpoint = {
      method: route.method.toUpperCase(),
      path: `${ENDPOINT.admin}${route.path}`,
      params: { org: orgId, name: "demo", ...(await existing(orgId, route.path)) },
      auth: bearer(operator),
      body: route.method === "get" ? undefined : "json",
      // Routes that take no body (disable, publish) or may ignore it (a secret client's rotation) answer as without one.
      refusesIllFormed: route.body !== undefined && !route.bodyOptional,
      fields: fields.length ? fields : GENERIC_FIELDS,
      query: Object.keys(route.query ?? {}),
      errors: "oauth",
    };
    await sweep(fetcher, ORIGIN, endpoint, SECRETS);
  });
});

describe("hostile input at the agent API, the SSF transmitter and the vault's connect flow", () => {
  const agentRoutes = honoRoutes(agentApi() as unknown as Hono<never>).map((r) => ({
    ...r,
    path: `${AGENT_API.prefix}${r.path}`,
  }));
  it.each(agentRoutes)("$method $path", async ({ method, path }) => {
    await sweep(
      fetcher,
      ORIGIN,
      {
        method,
        path,
        auth: bearer(agent),
        body: "json",
        refusesIllFormed: method === "POST",
        fields: ["server", "tools", "reason", "ttl_seconds", "on_behalf_of"],
        errors: "oauth",
      },
      SECRETS,
    );
  });

  const ssf = honoRoutes(ssfRoutes() as unknown as Hono<never>).map((r) => ({
    ...r,
    path: `${ENDPOINT.ssf}${r.path}`,
  }));
  it.each(ssf)("$method $path", async ({ method, path }) => {
    // A stream of the receiver's own, so the body's other fields are what is judged. Not for poll:
    // its stream stays unknown, or a body that happens to be valid would wait out a long poll.
    // An org of the route's own: an org holds at most 10 streams, and a DELETE here must not reach another route's.
    const own = await registerReceiver();
    const token = await receiverToken(own);
    const poll = path.includes(SSF_PATH.poll);
    const streamId = poll ? undefined : await createStream(token);
    await sweep(
      fetcher,
      ORIGIN,
      {
        method,
        path,
        params: { org: own.orgId as string },
        auth: bearer(token),
        body: "json",
        base: streamId ? { stream_id: streamId } : {},
        refusesIllFormed: ["POST", "PUT", "PATCH"].includes(method),
        fields: ["stream_id", "delivery", "events_requested", "status", "subject", "state", "maxEvents", "ack"],
        query: ["stream_id", "after"],
        errors: "oauth",
      },
      SECRETS,
    );
  });

  const vault = honoRoutes(vaultFlowRoutes() as unknown as Hono<never>).map((r) => ({
    ...r,
    path: `${VAULT_PATH.base}${r.path}`,
  }));
  it.each(vault)("$method $path", async ({ method, path }) => {
    await sweep(
      fetcher,
      ORIGIN,
      { method, path, auth: () => ({ Cookie: cookie }), query: ["state", "code", "error"], errors: "oauth" },
      SECRETS,
    );
  });

  it("covers every router it reads", () => {
    expect(agentRoutes.length).toBeGreaterThanOrEqual(3);
    expect(ssf.map((r) => r.path)).toContain(`${ENDPOINT.ssf}${SSF_PATH.streams}`);
    expect(vault.length).toBeGreaterThanOrEqual(2);
  });
});
