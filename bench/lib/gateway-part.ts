// The gateway part of `npm run bench`: GET /api/documents through the
// gateway against a bare pass-through to the same demo service.
import { join } from "node:path";
import type { DevServer, StartOptions } from "./dev-server.ts";
import { OAUTH_PROVIDER_CONTESTANT, startOAuthProviderContestant } from "./gateway-oauth-provider.ts";
import type { Contestant, RunResult } from "./load.ts";
import type { ShadowTree } from "./shadow-tree.ts";
import { alternatingRuns, figure, log, type Medians, mediansOf, type RoundOptions } from "./rounds.ts";
import { table } from "./stats.ts";

const PASSTHROUGH_CONFIG = "bench/passthrough/wrangler.toml";
const DEMO_CONFIG = "workers/demo/wrangler.toml";

export interface Throughput {
  runs: RunResult[];
  invalidRuns: number;
  medians: Record<string, Medians>;
  ratio: { requestsPerSecond: number; p50: number; p99: number; cpuPerRequest: number };
  /** Gateway against @cloudflare/workers-oauth-provider protecting the same service (goal ≥ 1.4 req/s). */
  ratioOAuthProvider: { requestsPerSecond: number; p50: number; p99: number; cpuPerRequest: number };
  /**
   * What a gateway that cost nothing would reach against workers-oauth-provider:
   * the pass-through's req/s over theirs. Both protect the same service and
   * do the same work around it (the headers, the assertion, the demo), so no
   * gateway can beat this ratio in this bench.
   */
  ceilingOAuthProvider: number;
  /**
   * CPU each contestant spends above the pass-through per request (its own
   * work: ours is verify + revocation + PDP + audit; theirs is the token
   * lookup and unwrap): theirs over ours. Null when either is not above it.
   */
  ownCpuOAuthProviderOverGateway: number | null;
}

export interface GatewayPartInput {
  tree: ShadowTree;
  /** The gateway's .dev.vars (lib/main.ts): the pass-through signs the gateway assertion with them. */
  gatewayVars: Readonly<Record<string, string>>;
  temp: string;
  origin: string;
  /** The whole system's `wrangler dev` (gateway, token, authn, demo, …). */
  system: DevServer;
  /** An access token of the bench user for the demo service. */
  accessToken: string;
  port: number;
  /** For the workers-oauth-provider contestant (lib/gateway-oauth-provider.ts). */
  oauthProviderPort: number;
  rounds: RoundOptions;
  start(options: Omit<StartOptions, "logDir" | "cwd">): Promise<DevServer>;
  stop(server: DevServer): Promise<void>;
}

export async function measureGateway(input: GatewayPartInput): Promise<Throughput> {
  input.tree.writeDevVars(PASSTHROUGH_CONFIG, { ...input.gatewayVars });
  const passthrough = await input.start({
    name: "passthrough",
    configs: [PASSTHROUGH_CONFIG, DEMO_CONFIG],
    port: input.port,
    persistTo: join(input.temp, "state-passthrough"),
    readyPath: "/api/documents",
  });
  const oauthProvider = await startOAuthProviderContestant({ ...input, port: input.oauthProviderPort });
  try {
    const contestants: Contestant[] = [
      {
        name: "gateway",
        url: `${input.origin}/api/documents`,
        headers: { Authorization: `Bearer ${input.accessToken}` },
        cpuSeconds: input.system.cpuSeconds,
      },
      {
        name: "pass-through",
        url: `${passthrough.origin}/api/documents`,
        headers: {},
        cpuSeconds: passthrough.cpuSeconds,
      },
      oauthProvider.contestant,
    ];
    // Both must answer 200 with the same number of rows, or they do different work.
    const rows: number[] = [];
    for (const c of contestants) {
      const response = await fetch(c.url, { headers: c.headers });
      const body = await response.text();
      if (response.status !== 200)
        throw new Error(`${c.name}: GET /api/documents answered ${response.status}: ${body.slice(0, 300)}`);
      rows.push((JSON.parse(body) as { documents: unknown[] }).documents.length);
    }
    if (rows.some((n) => n !== rows[0]))
      throw new Error(
        `the contestants return different rows (${rows.join(" vs ")}): the pass-through's fixed filter is out of date`,
      );
    log(`every contestant answers 200 with ${String(rows[0])} documents`);

    const runs = await alternatingRuns(contestants, input.rounds);
    const medians = mediansOf(
      runs,
      contestants.map((c) => c.name),
    );
    const gateway = medians.gateway as Medians;
    const base = medians["pass-through"] as Medians;
    const other = medians[OAUTH_PROVIDER_CONTESTANT] as Medians;
    return {
      runs,
      invalidRuns: runs.filter((r) => !r.valid).length,
      medians,
      ratio: {
        requestsPerSecond: gateway.requestsPerSecond / base.requestsPerSecond,
        p50: gateway.p50Ms / base.p50Ms,
        p99: gateway.p99Ms / base.p99Ms,
        cpuPerRequest: gateway.cpuMsPerRequest / base.cpuMsPerRequest,
      },
      ratioOAuthProvider: {
        requestsPerSecond: gateway.requestsPerSecond / other.requestsPerSecond,
        p50: gateway.p50Ms / other.p50Ms,
        p99: gateway.p99Ms / other.p99Ms,
        cpuPerRequest: gateway.cpuMsPerRequest / other.cpuMsPerRequest,
      },
      ceilingOAuthProvider: base.requestsPerSecond / other.requestsPerSecond,
      ownCpuOAuthProviderOverGateway: ownCpuRatio(gateway, base, other),
    };
  } finally {
    await input.stop(passthrough);
    await input.stop(oauthProvider.server);
  }
}

function ownCpuRatio(gateway: Medians, base: Medians, other: Medians): number | null {
  const ours = gateway.cpuMsPerRequest - base.cpuMsPerRequest;
  const theirs = other.cpuMsPerRequest - base.cpuMsPerRequest;
  return ours > 0 && theirs > 0 ? theirs / ours : null;
}

export function formatThroughput(t: Throughput, o: RoundOptions): string {
  const rows = Object.entries(t.medians).map(([name, m]) => [
    name,
    figure(m.requestsPerSecond, 0),
    figure(m.p50Ms),
    figure(m.p99Ms),
    figure(m.cpuMsPerRequest, 2),
  ]);
  rows.push([
    "ratio gateway / pass-through",
    figure(t.ratio.requestsPerSecond, 2),
    figure(t.ratio.p50, 2),
    figure(t.ratio.p99, 2),
    figure(t.ratio.cpuPerRequest, 2),
  ]);
  rows.push([
    `ratio gateway / ${OAUTH_PROVIDER_CONTESTANT}`,
    figure(t.ratioOAuthProvider.requestsPerSecond, 2),
    figure(t.ratioOAuthProvider.p50, 2),
    figure(t.ratioOAuthProvider.p99, 2),
    figure(t.ratioOAuthProvider.cpuPerRequest, 2),
  ]);
  rows.push([
    `ceiling: pass-through / ${OAUTH_PROVIDER_CONTESTANT} (a gateway that cost nothing)`,
    figure(t.ceilingOAuthProvider, 2),
    "",
    "",
    "",
  ]);
  const own = t.ownCpuOAuthProviderOverGateway;
  const ownLine = `own CPU above the pass-through per request, ${OAUTH_PROVIDER_CONTESTANT} ÷ gateway: ${own === null ? "n/a" : figure(own, 2)}`;
  const head = `GET /api/documents, medians of ${o.rounds} alternating runs × ${o.durationSeconds} s, ${o.connections} connections`;
  return `${head}\n${table(["contestant", "req/s", "p50 ms", "p99 ms", "CPU ms/req"], rows)}\n${ownLine}`;
}
