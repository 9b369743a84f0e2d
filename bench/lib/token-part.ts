// The tokens part of `npm run bench`: our token endpoint's client_credentials
// against Better Auth's oauth-provider's, and our token exchange with an
// actor against our client_credentials. See bench/README.md, "Tokens".
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { SCOPE } from "../../shared/contracts/scopes.ts";
import { GRANT_TYPE, TOKEN_TYPE } from "../../shared/contracts/tokens.ts";
import { type DevServer, freePort, type StartOptions, wranglerSync } from "./dev-server.ts";
import type { Contestant, RunResult } from "./load.ts";
import {
  AdminApi,
  AdminCallError,
  type ClientCredentials,
  jwtPayload,
  requestToken,
  tokenRequest,
} from "./machine-clients.ts";
import { type SequentialLatency, interleavedLatency } from "./sequential.ts";
import { alternatingRuns, figure, log, type Medians, mediansOf, type RoundOptions } from "./rounds.ts";
import type { ShadowTree } from "./shadow-tree.ts";
import { table } from "./stats.ts";

const OAUTH_PROVIDER_CONFIG = "bench/oauth-provider/wrangler.toml";

/** Goals from issue 6, "Tests and benchmark". */
export const GOAL = {
  /** Our client_credentials tokens/s over Better Auth's: at least this. */
  clientCredentialsSpeedup: 3,
  /** Our token exchange's p50 over our client_credentials' p50: at most this. */
  exchangeP50Ratio: 1.2,
} as const;

const NAME = {
  ours: "ours: client_credentials",
  betterAuth: "Better Auth oauth-provider: client_credentials",
  exchange: "ours: token exchange with actor",
  oursFloor: "floor, ours: metadata (gateway → token)",
  betterAuthFloor: "floor, Better Auth: /api/auth/ok",
} as const;

export interface TokenResult {
  betterAuth: { package: string; version: string; token: string };
  runs: RunResult[];
  invalidRuns: number;
  medians: Record<string, Medians>;
  /** The same requests one at a time, interleaved (lib/sequential.ts). */
  sequential: SequentialLatency;
  exchange: { available: true } | { available: false; reason: string };
  ratios: {
    /** Ours over Better Auth's, tokens/s; goal ≥ GOAL.clientCredentialsSpeedup. */
    clientCredentialsTokensPerSecond: number;
    /** Our token exchange's p50 over our client_credentials' p50 in the load runs; goal ≤ GOAL.exchangeP50Ratio. */
    exchangeP50OverClientCredentialsP50: number | null;
    /** The same, one request at a time; the goal applies too. */
    exchangeSequentialP50OverClientCredentialsP50: number | null;
    /** Better Auth's CPU per client_credentials token over ours: how many times less ours spends. */
    clientCredentialsCpuBetterAuthOverOurs: number;
    /** Our token exchange's CPU per token over our client_credentials'. */
    exchangeCpuOverClientCredentialsCpu: number | null;
    /**
     * clientCredentialsCpuBetterAuthOverOurs with each contestant's floor
     * (a route on the same path that does no work) taken off first: what the
     * token work itself costs, without `wrangler dev`'s fixed cost per request.
     */
    clientCredentialsCpuAboveFloorBetterAuthOverOurs: number;
    /** Better Auth's client_credentials tokens/s over our floor's req/s: the most tokens/s ratio any token endpoint behind our path could show here. */
    floorTokensPerSecondCeiling: number;
  };
}

export interface TokenPartInput {
  tree: ShadowTree;
  temp: string;
  checkout: string;
  /** The system's origin (gateway, token Worker, …) and the audience its tokens are for. */
  origin: string;
  audience: string;
  /** The whole system's `wrangler dev`, whose CPU our contestants are charged. */
  system: DevServer;
  operator: ClientCredentials;
  /** The bench user, an org it owns, and an access token it got by session exchange (the subject token). */
  user: { userId: string; orgId: string; accessToken: string };
  rounds: RoundOptions;
  /** Requests per contestant in the one-at-a-time latency measurement. */
  sequentialCount: number;
  start(options: Omit<StartOptions, "logDir" | "cwd">): Promise<DevServer>;
  stop(server: DevServer): Promise<void>;
}

function contestant(
  name: string,
  server: DevServer,
  url: string,
  client: ClientCredentials,
  params: Record<string, string>,
): Contestant {
  return { name, url, method: "POST", ...tokenRequest(client, params), cpuSeconds: server.cpuSeconds };
}

/** One request of the contestant, checked: 200 and a JWT with these claims. */
async function check(c: Contestant, expect: (claims: Record<string, unknown>) => string | undefined): Promise<void> {
  const response = await fetch(c.url, { method: "POST", headers: c.headers, body: c.body });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${c.name}: HTTP ${response.status} ${text.slice(0, 300)}`);
  const { access_token: token } = JSON.parse(text) as { access_token?: string };
  if (!token) throw new Error(`${c.name}: no access_token`);
  const problem = expect(jwtPayload(token));
  if (problem) throw new Error(`${c.name}: ${problem}`);
}

function audienceOf(claims: Record<string, unknown>): string[] {
  return Array.isArray(claims.aud) ? (claims.aud as string[]) : [String(claims.aud)];
}

function forResource(resource: string) {
  return (claims: Record<string, unknown>) => {
    if (!audienceOf(claims).includes(resource)) return `aud ${JSON.stringify(claims.aud)}, expected ${resource}`;
    if (!String(claims.scope).split(" ").includes(SCOPE.documentsRead)) return `scope ${String(claims.scope)}`;
    return undefined;
  };
}

/** Better Auth's Worker on its own port, database and secrets; its registered client. */
async function startBetterAuth(
  input: TokenPartInput,
): Promise<{ server: DevServer; client: ClientCredentials; resource: string }> {
  const port = await freePort();
  const origin = `http://localhost:${port}`;
  const resource = `${origin}/api`;
  const setupSecret = randomBytes(24).toString("base64url");
  input.tree.writeDevVars(OAUTH_PROVIDER_CONFIG, {
    BETTER_AUTH_SECRET: randomBytes(32).toString("base64url"),
    BASE_URL: origin,
    RESOURCE: resource,
    SETUP_SECRET: setupSecret,
  });
  const state = join(input.temp, "state-oauth-provider");
  wranglerSync(input.tree.root, [
    "d1",
    "migrations",
    "apply",
    "DB",
    "--local",
    "--persist-to",
    state,
    "-c",
    OAUTH_PROVIDER_CONFIG,
  ]);
  log(`starting Better Auth's oauth-provider Worker on ${origin}`);
  const server = await input.start({
    name: "oauth-provider",
    configs: [OAUTH_PROVIDER_CONFIG],
    port,
    persistTo: state,
    readyPath: "/api/auth/ok",
  });
  const setup = await fetch(`${origin}/bench/setup`, {
    method: "POST",
    headers: { Authorization: `Bearer ${setupSecret}` },
  });
  const text = await setup.text();
  if (setup.status !== 201) throw new Error(`Better Auth setup: HTTP ${setup.status} ${text.slice(0, 300)}`);
  const registered = JSON.parse(text) as { client_id: string; client_secret: string };
  return { server, client: { clientId: registered.client_id, clientSecret: registered.client_secret }, resource };
}

/**
 * The exchange contestant: the agent, a live delegation grant from the
 * user, the agent's own client_credentials token as `actor_token`. Any step
 * the running system does not offer yet makes it "not available".
 */
async function exchangeContestant(
  input: TokenPartInput,
  admin: AdminApi,
  agent: ClientCredentials,
): Promise<Contestant | string> {
  const tokenEndpoint = `${input.origin}${ENDPOINT.token}`;
  try {
    await admin.createDelegationGrant(input.user.orgId, {
      subject: input.user.userId,
      actorClientId: agent.clientId,
      scopes: [SCOPE.documentsRead],
      audiences: [input.audience],
    });
  } catch (error) {
    if (error instanceof AdminCallError && (error.status === 404 || error.status === 405)) {
      return "the admin API has no delegation-grants route";
    }
    throw error;
  }
  const actorToken = await requestToken(tokenEndpoint, agent, {
    grant_type: GRANT_TYPE.clientCredentials,
    scope: SCOPE.documentsRead,
    resource: input.audience,
  });
  const exchange = contestant(NAME.exchange, input.system, tokenEndpoint, agent, {
    grant_type: GRANT_TYPE.tokenExchange,
    subject_token: input.user.accessToken,
    subject_token_type: TOKEN_TYPE.accessToken,
    actor_token: actorToken,
    actor_token_type: TOKEN_TYPE.accessToken,
    resource: input.audience,
    scope: SCOPE.documentsRead,
  });
  const probe = await fetch(exchange.url, { method: "POST", headers: exchange.headers, body: exchange.body });
  const text = await probe.text();
  if (probe.status === 400 && /unsupported_grant_type|unsupported_token_type/.test(text)) {
    return `the token endpoint refuses it: ${text.slice(0, 200)}`;
  }
  await check(exchange, (claims) => {
    const act = claims.act as { client_id?: unknown } | undefined;
    if (claims.sub !== input.user.userId) return `sub ${String(claims.sub)}, expected the user ${input.user.userId}`;
    if (act?.client_id !== agent.clientId) return `act ${JSON.stringify(claims.act)}, expected the agent`;
    return forResource(input.audience)(claims);
  });
  return exchange;
}

export async function measureTokens(input: TokenPartInput): Promise<TokenResult> {
  const tokenEndpoint = `${input.origin}${ENDPOINT.token}`;
  const admin = await AdminApi.signIn(input.origin, input.operator);
  const orgId = input.user.orgId;
  // The org's per-client mint limit would refuse a load run's thousands of
  // mints a minute with 429s; the bench measures the work, not the limit.
  await admin.putTokenPolicy(orgId, { mints_per_minute_per_client: 60_000 });
  const machine = await admin.createClient(orgId, {
    name: "bench machine",
    type: "machine",
    grantTypes: [GRANT_TYPE.clientCredentials],
    scope: SCOPE.documentsRead,
    audiences: [input.audience],
  });
  const agent = await admin.createClient(orgId, {
    name: "bench agent",
    type: "agent",
    grantTypes: [GRANT_TYPE.clientCredentials, GRANT_TYPE.tokenExchange],
    scope: SCOPE.documentsRead,
    audiences: [input.audience],
  });
  log(`operator created a machine client and an agent client in org ${orgId}`);

  const ours = contestant(NAME.ours, input.system, tokenEndpoint, machine, {
    grant_type: GRANT_TYPE.clientCredentials,
    scope: SCOPE.documentsRead,
    resource: input.audience,
  });
  await check(ours, forResource(input.audience));
  const exchange = await exchangeContestant(input, admin, agent);
  if (typeof exchange === "string") log(`token exchange with an actor: skipped, not available (${exchange})`);

  const betterAuth = await startBetterAuth(input);
  try {
    const theirs = contestant(
      NAME.betterAuth,
      betterAuth.server,
      `${betterAuth.server.origin}/api/auth${ENDPOINT.token}`,
      betterAuth.client,
      {
        grant_type: GRANT_TYPE.clientCredentials,
        scope: SCOPE.documentsRead,
        resource: betterAuth.resource,
      },
    );
    await check(theirs, forResource(betterAuth.resource));
    log("every contestant answers 200 with a JWT access token for its resource");

    const contestants = [ours, theirs, ...(typeof exchange === "string" ? [] : [exchange])];
    // What a request costs here when the Worker does no work, on each
    // contestant's own path: ours through the gateway to the token Worker's
    // metadata document (no binding touched), Better Auth's health route.
    const floors: Contestant[] = [
      {
        name: NAME.oursFloor,
        url: `${input.origin}${ENDPOINT.authorizationServerMetadata}`,
        headers: {},
        cpuSeconds: input.system.cpuSeconds,
      },
      {
        name: NAME.betterAuthFloor,
        url: `${betterAuth.server.origin}/api/auth/ok`,
        headers: {},
        cpuSeconds: betterAuth.server.cpuSeconds,
      },
    ];
    const runs = await alternatingRuns([...contestants, ...floors], input.rounds);
    log(`${input.sequentialCount} requests per contestant one at a time, interleaved`);
    const sequential = await interleavedLatency(contestants, input.sequentialCount);
    const seq = (name: string) => sequential.byContestant[name]?.p50Ms ?? Number.NaN;
    const medians = mediansOf(
      runs,
      [...contestants, ...floors].map((c) => c.name),
    );
    const m = (name: string) => medians[name] as Medians;
    const version = (
      JSON.parse(
        readFileSync(join(input.checkout, "node_modules/@better-auth/oauth-provider/package.json"), "utf8"),
      ) as { version: string }
    ).version;
    return {
      betterAuth: {
        package: "@better-auth/oauth-provider",
        version,
        token: "JWT access token (at+jwt, ES256, resource named); not stored",
      },
      runs,
      invalidRuns: runs.filter((r) => !r.valid).length,
      medians,
      sequential,
      exchange: typeof exchange === "string" ? { available: false, reason: exchange } : { available: true },
      ratios: {
        clientCredentialsTokensPerSecond: m(NAME.ours).requestsPerSecond / m(NAME.betterAuth).requestsPerSecond,
        exchangeP50OverClientCredentialsP50:
          typeof exchange === "string" ? null : m(NAME.exchange).p50Ms / m(NAME.ours).p50Ms,
        exchangeSequentialP50OverClientCredentialsP50:
          typeof exchange === "string" ? null : seq(NAME.exchange) / seq(NAME.ours),
        clientCredentialsCpuBetterAuthOverOurs: m(NAME.betterAuth).cpuMsPerRequest / m(NAME.ours).cpuMsPerRequest,
        exchangeCpuOverClientCredentialsCpu:
          typeof exchange === "string" ? null : m(NAME.exchange).cpuMsPerRequest / m(NAME.ours).cpuMsPerRequest,
        clientCredentialsCpuAboveFloorBetterAuthOverOurs:
          (m(NAME.betterAuth).cpuMsPerRequest - m(NAME.betterAuthFloor).cpuMsPerRequest) /
          (m(NAME.ours).cpuMsPerRequest - m(NAME.oursFloor).cpuMsPerRequest),
        floorTokensPerSecondCeiling: m(NAME.oursFloor).requestsPerSecond / m(NAME.betterAuth).requestsPerSecond,
      },
    };
  } finally {
    await input.stop(betterAuth.server);
  }
}

function verdict(value: number, goal: number, atLeast: boolean): string {
  if (!Number.isFinite(value)) return "no valid runs";
  return (atLeast ? value >= goal : value <= goal) ? "met" : "MISSED";
}

export function formatTokens(t: TokenResult, o: RoundOptions): string {
  const rows = Object.entries(t.medians).map(([name, m]) => [
    name,
    figure(m.requestsPerSecond, 0),
    figure(m.p50Ms),
    figure(m.p99Ms),
    figure(m.cpuMsPerRequest, 2),
    figure(t.sequential.byContestant[name]?.p50Ms ?? Number.NaN),
  ]);
  if (!t.exchange.available) rows.push([NAME.exchange, "skipped", "", "", "", ""]);
  const r = t.ratios;
  const speedup = r.clientCredentialsTokensPerSecond;
  const p50 = r.exchangeP50OverClientCredentialsP50;
  const p50Sequential = r.exchangeSequentialP50OverClientCredentialsP50;
  const head = `POST /oauth2/token (client_secret_basic), medians of ${o.rounds} rotating runs × ${o.durationSeconds} s, ${o.connections} connections; then ${t.sequential.count} requests each one at a time, interleaved`;
  const lines = [
    head,
    table(["contestant", "tokens/s", "p50 ms", "p99 ms", "CPU ms/token", "p50 ms, one at a time"], rows),
    "",
    `client_credentials tokens/s, ours / Better Auth:    ${figure(speedup, 2)}  (goal ≥ ${GOAL.clientCredentialsSpeedup}: ${verdict(speedup, GOAL.clientCredentialsSpeedup, true)})`,
    p50 === null
      ? `token exchange p50 / client_credentials p50:        skipped: not available (${t.exchange.available ? "" : t.exchange.reason})`
      : `token exchange p50 / client_credentials p50:        ${figure(p50, 2)} under load, ${figure(p50Sequential ?? Number.NaN, 2)} one at a time  (goal ≤ ${GOAL.exchangeP50Ratio}: ${verdict(p50, GOAL.exchangeP50Ratio, false)} under load, ${verdict(p50Sequential ?? Number.NaN, GOAL.exchangeP50Ratio, false)} one at a time)`,
    `client_credentials CPU per token, Better Auth / ours: ${figure(r.clientCredentialsCpuBetterAuthOverOurs, 2)}`,
    ...(r.exchangeCpuOverClientCredentialsCpu === null
      ? []
      : [`token exchange CPU / client_credentials CPU:        ${figure(r.exchangeCpuOverClientCredentialsCpu, 2)}`]),
    `the same, each contestant's floor taken off first:  ${figure(r.clientCredentialsCpuAboveFloorBetterAuthOverOurs, 2)} (client_credentials CPU above the floor, Better Auth / ours)`,
    `floor req/s ours / Better Auth client_credentials:  ${figure(r.floorTokensPerSecondCeiling, 2)} (no token endpoint behind our gateway could show more tokens/s than this here)`,
  ];
  return lines.join("\n");
}
