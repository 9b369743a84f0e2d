// The revocation part's check cost over HTTP: GET /api/documents through the
// gateway for a token of an org holding N revocations against one of a
// control org holding none, in alternating rounds of the same system
// (bench/README.md, "The revocation part").
import { SCOPE } from "../../shared/contracts/scopes.ts";
import type { Contestant } from "./load.ts";
import { alternatingRuns, figure, log, type Medians, mediansOf, type RoundOptions } from "./rounds.ts";
import { createOrganization, signedUpPerson } from "./sign-in-accounts.ts";
import { table } from "./stats.ts";

export interface CheckCostRow {
  /** "before": nothing recorded yet in either org; "after": N entries in the first. */
  phase: "before" | "after";
  org: "revoked" | "control";
  revokedEntries: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU of the whole system (every Worker's workerd) per request; NaN when unknown. */
  cpuMsPerRequest: number;
}

export interface CheckCostResult {
  rows: CheckCostRow[];
  /** After recording: control req/s ÷ revoked-org req/s, the same rounds (the goal's figure, ≤ 1.1×). */
  ratio: number;
  /** The same in CPU per request: revoked org ÷ control. */
  cpuRatio: number;
  /** Before recording, both orgs empty: what the rounds' noise alone reads as a ratio. */
  nullRatio: number;
  /** The revoked org before ÷ after recording: minutes apart, so drift counts too. */
  sequentialRatio: number;
  recordSeconds: number;
  requested: number;
}

/**
 * Why a control org, not only "before and after": recording 100 000 entries
 * takes minutes, and over minutes a shared machine's load and the system's
 * state (databases grown by the recording's audit rows, a longer-running
 * workerd) move the req/s more than the check does. Two orgs answered by the
 * same gateway isolate, in the same rounds, differ only in what is checked.
 * What holding the entries costs the whole isolate (memory) shows as the
 * control org's change from before to after.
 */
export class CheckCostLoad {
  private readonly origin: string;
  private readonly revokedToken: string;
  private readonly controlToken: string;
  private readonly cpuSeconds: (() => number | null) | undefined;

  private constructor(
    origin: string,
    revokedToken: string,
    controlToken: string,
    cpuSeconds: (() => number | null) | undefined,
  ) {
    this.origin = origin;
    this.revokedToken = revokedToken;
    this.controlToken = controlToken;
    this.cpuSeconds = cpuSeconds;
  }

  /** Signs up a second person with an org of their own, never revoked into; its long-lived token is the control. */
  static async prepare(input: {
    origin: string;
    audience: string;
    revokedToken: string;
    cpuSeconds?: () => number | null;
  }): Promise<CheckCostLoad> {
    const person = await signedUpPerson(
      input.origin,
      `bench-control-${crypto.randomUUID()}@example.com`,
      "correct horse battery staple",
    );
    await createOrganization(person);
    const response = await person.client.exchangeSessionForToken(input.audience, SCOPE.documentsRead);
    const body = (await response.json()) as { access_token?: string };
    if (response.status !== 200 || !body.access_token) throw new Error(`control token: HTTP ${response.status}`);
    return new CheckCostLoad(input.origin, input.revokedToken, body.access_token, input.cpuSeconds);
  }

  /** Alternating rounds of both orgs; `entries` is what the revoked org holds now. */
  async run(phase: CheckCostRow["phase"], entries: number, rounds: RoundOptions): Promise<CheckCostRow[]> {
    log(`check cost, ${phase}: the org with ${entries} revocations against the control org, alternating`);
    const url = `${this.origin}/api/documents`;
    const cpu = this.cpuSeconds ? { cpuSeconds: this.cpuSeconds } : {};
    const contestants: Contestant[] = [
      { name: "revoked", url, headers: { Authorization: `Bearer ${this.revokedToken}` }, ...cpu },
      { name: "control", url, headers: { Authorization: `Bearer ${this.controlToken}` }, ...cpu },
    ];
    const runs = await alternatingRuns(contestants, rounds);
    if (runs.some((r) => !r.valid)) throw new Error(`check cost ${phase}: a run had non-2xx responses or errors`);
    const medians = mediansOf(runs, ["revoked", "control"]);
    const row = (org: CheckCostRow["org"], m: Medians | undefined): CheckCostRow => {
      if (!m) throw new Error("no runs");
      return {
        phase,
        org,
        revokedEntries: org === "revoked" ? entries : 0,
        requestsPerSecond: m.requestsPerSecond,
        p50Ms: m.p50Ms,
        p99Ms: m.p99Ms,
        cpuMsPerRequest: m.cpuMsPerRequest,
      };
    };
    return [row("revoked", medians.revoked), row("control", medians.control)];
  }
}

/** The ratios from the four rows (before and after, each org). */
export function checkCostResult(rows: CheckCostRow[], recordSeconds: number, requested: number): CheckCostResult {
  const find = (phase: CheckCostRow["phase"], org: CheckCostRow["org"]) => {
    const found = rows.find((r) => r.phase === phase && r.org === org);
    if (!found) throw new Error(`no ${phase} ${org} row`);
    return found;
  };
  const [beforeRevoked, beforeControl] = [find("before", "revoked"), find("before", "control")];
  const [afterRevoked, afterControl] = [find("after", "revoked"), find("after", "control")];
  return {
    rows,
    ratio: afterControl.requestsPerSecond / afterRevoked.requestsPerSecond,
    cpuRatio: afterRevoked.cpuMsPerRequest / afterControl.cpuMsPerRequest,
    nullRatio: beforeControl.requestsPerSecond / beforeRevoked.requestsPerSecond,
    sequentialRatio: beforeRevoked.requestsPerSecond / afterRevoked.requestsPerSecond,
    recordSeconds,
    requested,
  };
}

export function formatCheckCostHttp(c: CheckCostResult): string {
  return [
    `Check cost: GET /api/documents through the gateway, an org with revocations against a control org with none,`,
    `alternating rounds (${c.requested} jti entries recorded in ${c.recordSeconds.toFixed(0)} s)`,
    table(
      ["phase", "org", "revoked entries", "req/s", "p50 ms", "p99 ms", "CPU ms/req"],
      c.rows.map((row) => [
        row.phase,
        row.org,
        String(row.revokedEntries),
        figure(row.requestsPerSecond, 0),
        figure(row.p50Ms),
        figure(row.p99Ms),
        figure(row.cpuMsPerRequest, 2),
      ]),
    ),
    `ratio req/s, control ÷ revoked org, after: ${c.ratio.toFixed(2)}× (goal ≤ 1.1×); CPU per request: ${c.cpuRatio.toFixed(2)}×`,
    `the same ratio before anything was recorded (the rounds' noise): ${c.nullRatio.toFixed(2)}×`,
    `the revoked org before ÷ after (minutes apart, drift included): ${c.sequentialRatio.toFixed(2)}×`,
  ].join("\n");
}
