// Alternating load runs of several contestants, and their medians.
import { type Contestant, type LoadOptions, loadRun, type RunResult } from "./load.ts";
import { median } from "./stats.ts";

export interface RoundOptions extends LoadOptions {
  rounds: number;
  warmupSeconds: number;
}

export interface Medians {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** NaN when the CPU could not be read (lib/cpu.ts). */
  cpuMsPerRequest: number;
}

export function log(message: string): void {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

/**
 * Warms each contestant up, then runs `rounds` rounds; round r starts with
 * contestant r (rotating), so a drift in the machine's state favours no one
 * and each contestant runs first, middle and last alike.
 */
export async function alternatingRuns(contestants: readonly Contestant[], o: RoundOptions): Promise<RunResult[]> {
  const load = { connections: o.connections, durationSeconds: o.durationSeconds };
  if (o.warmupSeconds > 0) {
    log(`warm-up, ${o.warmupSeconds} s each`);
    for (const c of contestants) await loadRun(c, 0, { ...load, durationSeconds: o.warmupSeconds });
  }
  const width = Math.max(...contestants.map((c) => c.name.length));
  const runs: RunResult[] = [];
  for (let round = 1; round <= o.rounds; round++) {
    const shift = (round - 1) % contestants.length;
    const order = [...contestants.slice(shift), ...contestants.slice(0, shift)];
    for (const c of order) {
      const run = await loadRun(c, round, load);
      runs.push(run);
      const flag = run.valid
        ? ""
        : `  INVALID: non-2xx ${run.non2xx}, errors ${run.errors}, timeouts ${run.timeouts} ${JSON.stringify(run.statusCodes)}`;
      log(
        `round ${round} ${c.name.padEnd(width)} ${run.requestsPerSecond.toFixed(0).padStart(6)} req/s  p50 ${run.p50Ms} ms  p99 ${run.p99Ms} ms  CPU ${run.cpuMsPerRequest === null ? "n/a" : run.cpuMsPerRequest.toFixed(2)} ms/req${flag}`,
      );
      for (const failure of run.failures) log(`  ${failure}`);
    }
  }
  return runs;
}

/** Each contestant's median over its valid runs (NaN when it has none). */
export function mediansOf(runs: readonly RunResult[], names: readonly string[]): Record<string, Medians> {
  const valid = runs.filter((r) => r.valid);
  return Object.fromEntries(
    names.map((name) => {
      const mine = valid.filter((r) => r.contestant === name);
      return [
        name,
        {
          requestsPerSecond: median(mine.map((r) => r.requestsPerSecond)),
          p50Ms: median(mine.map((r) => r.p50Ms)),
          p99Ms: median(mine.map((r) => r.p99Ms)),
          cpuMsPerRequest: median(mine.flatMap((r) => (r.cpuMsPerRequest === null ? [] : [r.cpuMsPerRequest]))),
        },
      ];
    }),
  );
}

/** A figure for a table: `n/a` when a contestant had no valid run. */
export function figure(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return "n/a";
  const f = 10 ** digits;
  return (Math.round(value * f) / f).toFixed(digits);
}
