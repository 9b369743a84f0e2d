// The revocation part of `npm run bench`: how long after an operator's
// revoke is answered the gateway first refuses the token (with the push
// channel, the default, and pulling only), what the revocation check costs
// with many entries in the org, and how long one revocation takes to reach
// 1, 100 and 1000 WebSocket subscribers (bench/README.md).
import { adminAudience, ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { SCOPE } from "../../shared/contracts/scopes.ts";
import { GRANT_TYPE } from "../../shared/contracts/tokens.ts";
import type { BrowserLikeClient } from "../../test/support/browser-like-client.ts";
import type { DevServer } from "./dev-server.ts";
import { type ClientCredentials, jwtPayload, requestToken } from "./machine-clients.ts";
import { type CheckCostInProcess, formatCheckCost, measureCheckCost } from "./revocation-check-cost.ts";
import {
  CheckCostLoad,
  type CheckCostResult,
  type CheckCostRow,
  checkCostResult,
  formatCheckCostHttp,
} from "./revocation-check-cost-http.ts";
import { type FanOutRow, formatFanOut, measureFanOut } from "./revocation-fanout.ts";
import { figure, log, type RoundOptions } from "./rounds.ts";
import { median, table } from "./stats.ts";

/** The gateway's default bound (wrangler.toml [vars]). */
export const DEFAULT_BOUND_MS = 1000;
/** workers/org-state/src/revocation-mirror.ts's; not imported: Node's type stripping cannot load that file (parameter properties). */
const MIRROR_DELAY_MS = 5_000;
const MIRROR_MS_PER_ENTRY = 0.5;
/** How often one revoke is tried when the admin API answers 503. */
const REVOKE_ATTEMPTS = 5;
/** A trial that sees no refusal by then is a failure, not a slow sample. */
const TRIAL_TIMEOUT_MS = 15_000;

export interface LatencyRow {
  boundMs: number;
  /** REVOCATION_PUSH: "on" (the default) or "off" (pull only). */
  push: "on" | "off";
  trials: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Gateway requests sent while polling, per trial (median). */
  pollsPerTrial: number;
}

export interface RevocationResult {
  latency: LatencyRow[];
  checkCost?: CheckCostResult;
  fanOut?: FanOutRow[];
  /** The check alone, in this process (lib/revocation-check-cost.ts). */
  checkInProcess?: CheckCostInProcess[];
  invalidRuns: number;
}

export interface RevocationPartInput {
  origin: string;
  audience: string;
  operator: ClientCredentials;
  /** The bench user's signed-in client (lib/main.ts) and org. */
  client: BrowserLikeClient;
  orgId: string;
  trials: number;
  /** How many jti entries to record for the check-cost table (0: skip it). */
  revokedEntries: number;
  /** Subscriber counts for the fan-out table (empty: skip it). */
  fanOut: readonly number[];
  rounds: RoundOptions;
  /** CPU seconds the whole system has used so far (DevServer.cpuSeconds of the one running now). */
  cpuSeconds?: () => number | null;
  /** Restarts the system with these gateway vars over its defaults (none: the defaults); the state is kept. */
  restartWithGatewayVars(vars: Record<string, string>): Promise<DevServer>;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** Operator revocations through the admin API (workers/token/src/admin/revocations.ts). */
class Revoker {
  private readonly url: string;
  private readonly token: string;

  private constructor(url: string, token: string) {
    this.url = url;
    this.token = token;
  }

  /** The operator's admin token, for the revocation stream (lib/revocation-fanout.ts). */
  get bearer(): string {
    return this.token;
  }

  static async signIn(origin: string, operator: ClientCredentials, orgId: string): Promise<Revoker> {
    const token = await requestToken(`${origin}${ENDPOINT.token}`, operator, {
      grant_type: GRANT_TYPE.clientCredentials,
      scope: SCOPE.admin,
      resource: adminAudience(origin),
    });
    return new Revoker(`${origin}${ENDPOINT.admin}/orgs/${encodeURIComponent(orgId)}/revocations`, token);
  }

  /**
   * Resolves once the org's object has recorded it (201). A 503 (the object
   * not reached in time, which a loaded machine produces now and then over
   * 100 000 revokes) is retried: recording the same value again changes
   * nothing but its times.
   */
  async revokeJti(jti: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const response = await fetch(this.url, {
        method: "POST",
        headers: { Authorization: `Bearer ${this.token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ kind: "jti", value: jti, reason: "bench" }),
      });
      const text = await response.text();
      if (response.status === 201) return;
      if (response.status !== 503 || attempt === REVOKE_ATTEMPTS) {
        throw new Error(`revoke: HTTP ${response.status} ${text.slice(0, 300)}`);
      }
      log(`  revoke answered 503; retrying (${attempt}/${REVOKE_ATTEMPTS})`);
      await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt));
    }
  }
}

async function mint(input: RevocationPartInput): Promise<{ token: string; jti: string }> {
  const response = await input.client.exchangeSessionForToken(input.audience, SCOPE.documentsRead);
  const body = (await response.json()) as { access_token?: string };
  if (response.status !== 200 || !body.access_token) throw new Error(`token exchange: HTTP ${response.status}`);
  const jti = jwtPayload(body.access_token).jti;
  if (typeof jti !== "string") throw new Error("token without jti");
  return { token: body.access_token, jti };
}

/** One gateway call: "ok" (200), "revoked" (401 ERR_TOKEN_REVOKED), or an error for anything else. */
async function call(url: string, token: string): Promise<"ok" | "revoked"> {
  const response = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
  const text = await response.text();
  if (response.status === 200) return "ok";
  if (response.status === 401) {
    const description = (JSON.parse(text) as { error_description?: string }).error_description ?? "";
    if (description.startsWith("ERR_TOKEN_REVOKED")) return "revoked";
  }
  throw new Error(`gateway: HTTP ${response.status} ${text.slice(0, 300)}`);
}

/** Mint, one 200, revoke, then poll back-to-back until the first refusal: ms from the revoke's 201 to it. */
async function trials(input: RevocationPartInput, revoker: Revoker, push: "on" | "off"): Promise<LatencyRow> {
  const url = `${input.origin}/api/documents`;
  const times: number[] = [];
  const polls: number[] = [];
  for (let i = 0; i < input.trials; i++) {
    const { token, jti } = await mint(input);
    if ((await call(url, token)) !== "ok") throw new Error("a fresh token was refused");
    await revoker.revokeJti(jti);
    const answered = performance.now();
    let n = 0;
    for (;;) {
      n++;
      if ((await call(url, token)) === "revoked") break;
      if (performance.now() - answered > TRIAL_TIMEOUT_MS)
        throw new Error(`trial ${i}: still accepted ${TRIAL_TIMEOUT_MS} ms after the revoke`);
    }
    times.push(performance.now() - answered);
    polls.push(n);
  }
  return {
    boundMs: DEFAULT_BOUND_MS,
    push,
    trials: input.trials,
    p50Ms: median(times),
    p99Ms: percentile(times, 99),
    maxMs: Math.max(...times),
    pollsPerTrial: median(polls),
  };
}

/** Records `count` jti entries, `concurrency` at a time; seconds it took. */
async function recordMany(revoker: Revoker, count: number, concurrency: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const n = ++next;
      await revoker.revokeJti(`bench-${crypto.randomUUID()}`);
      // This worker's own count: `next` has moved on by now (it printed 100000 once per worker).
      if (n % 10_000 === 0) log(`  about ${n} recorded`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return (performance.now() - started) / 1000;
}

export async function measureRevocation(input: RevocationPartInput): Promise<RevocationResult> {
  let revoker = await Revoker.signIn(input.origin, input.operator, input.orgId);
  const result: RevocationResult = { latency: [], invalidRuns: 0 };
  log("check cost in process: the gateway's index with 0 and 100 000 entries");
  result.checkInProcess = measureCheckCost();
  // A long-lived token for the load runs; never revoked.
  const loadToken = (await mint(input)).token;

  // Check cost first, with nothing revoked in either org yet.
  let load: CheckCostLoad | undefined;
  const costRows: CheckCostRow[] = [];
  if (input.revokedEntries > 0) {
    load = await CheckCostLoad.prepare({
      origin: input.origin,
      audience: input.audience,
      revokedToken: loadToken,
      ...(input.cpuSeconds ? { cpuSeconds: input.cpuSeconds } : {}),
    });
    costRows.push(...(await load.run("before", 0, input.rounds)));
  }

  log(`revoke → first refusal, ${input.trials} trials at the default bound (${DEFAULT_BOUND_MS} ms), push on`);
  result.latency.push(await trials(input, revoker, "on"));

  log("restarting the system with REVOCATION_PUSH=off (pull only)");
  await input.restartWithGatewayVars({ REVOCATION_PUSH: "off" });
  revoker = await Revoker.signIn(input.origin, input.operator, input.orgId);
  log(`revoke → first refusal, ${input.trials} trials at the default bound, push off`);
  result.latency.push(await trials(input, revoker, "off"));

  // The defaults again for the rest: the load runs compare like with like.
  await input.restartWithGatewayVars({});
  revoker = await Revoker.signIn(input.origin, input.operator, input.orgId);
  if (input.fanOut.length > 0) {
    result.fanOut = await measureFanOut({
      origin: input.origin,
      orgId: input.orgId,
      bearer: revoker.bearer,
      counts: input.fanOut,
      revoke: (value) => revoker.revokeJti(value),
    });
  }

  if (load) {
    log(`recording ${input.revokedEntries} jti revocations through the admin API`);
    const recordSeconds = await recordMany(revoker, input.revokedEntries, 32);
    log(`recorded in ${recordSeconds.toFixed(1)} s`);
    // Two one-off costs of the recording itself, kept out of the rounds: the
    // gateway's catch-up (its view of the org fell behind once the channel
    // closed: pages of changes, then the snapshot) and the org's object
    // copying its snapshot to KV once its turn comes after the last change:
    // writes are spaced by the size of the previous one
    // (workers/org-state/src/revocation-mirror.ts, nextMirrorAt).
    if ((await call(`${input.origin}/api/documents`, loadToken)) !== "ok")
      throw new Error("the load token was refused");
    // The org also holds the trials' and fan-out's own entries.
    const total = input.revokedEntries + 2 * input.trials;
    await new Promise((resolve) => setTimeout(resolve, MIRROR_DELAY_MS + total * MIRROR_MS_PER_ENTRY + 3_000));
    costRows.push(...(await load.run("after", total, input.rounds)));
    result.checkCost = checkCostResult(costRows, recordSeconds, input.revokedEntries);
  }
  return result;
}

export function formatRevocation(r: RevocationResult): string {
  const latency = table(
    ["bound ms", "push", "trials", "p50 ms", "p99 ms", "max ms", "polls/trial"],
    r.latency.map((row) => [
      String(row.boundMs),
      row.push,
      String(row.trials),
      figure(row.p50Ms),
      figure(row.p99Ms),
      figure(row.maxMs),
      figure(row.pollsPerTrial, 0),
    ]),
  );
  const parts = [
    "Revoke (operator, admin API 201) → first 401 ERR_TOKEN_REVOKED at the gateway, polling back-to-back",
    latency,
    "Goals: p99 ≤ 1000 ms at the default bound, p50 ≤ 100 ms locally. Push on: the org's object sends the",
    "revocation down each isolate's channel as it records it, so the wait is one hop. Push off: an isolate",
    "re-reads once its view is older than the bound, and each trial revokes right after a 200 whose check came",
    "just after such a read, so every wait is close to the whole bound (the worst case a client can see).",
  ];
  if (r.fanOut) parts.push("", formatFanOut(r.fanOut));
  if (r.checkInProcess) parts.push("", formatCheckCost(r.checkInProcess));
  if (r.checkCost) parts.push("", formatCheckCostHttp(r.checkCost));
  return parts.join("\n");
}
