// Latency one request at a time, the contestants interleaved request by
// request: each sees the machine in the same state within milliseconds, so
// their ratio holds even when other work on the machine comes and goes.
import type { Contestant } from "./load.ts";
import { median } from "./stats.ts";

export interface SequentialLatency {
  count: number;
  /** Per contestant: the median and the 90th percentile, in ms. */
  byContestant: Record<string, { p50Ms: number; p90Ms: number }>;
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** `count` requests per contestant, one at a time, the order rotating each turn; every answer must be 2xx. */
export async function interleavedLatency(
  contestants: readonly Contestant[],
  count: number,
): Promise<SequentialLatency> {
  const samples = new Map<string, number[]>(contestants.map((c) => [c.name, []]));
  for (let i = 0; i < count; i++) {
    const shift = i % contestants.length;
    for (const c of [...contestants.slice(shift), ...contestants.slice(0, shift)]) {
      const start = performance.now();
      const response = await fetch(c.url, { method: c.method ?? "GET", headers: c.headers, body: c.body });
      const text = await response.text();
      const ms = performance.now() - start;
      if (!response.ok) throw new Error(`${c.name}: HTTP ${response.status} ${text.slice(0, 300)}`);
      samples.get(c.name)?.push(ms);
    }
  }
  return {
    count,
    byContestant: Object.fromEntries(
      [...samples].map(([name, ms]) => [name, { p50Ms: median(ms), p90Ms: percentile(ms, 90) }]),
    ),
  };
}
