// One load run with autocannon, reduced to the numbers the bench compares.
import autocannon from "autocannon";

export interface Contestant {
  name: string;
  url: string;
  headers: Record<string, string>;
  /** GET without one. */
  method?: "GET" | "POST";
  /** The same body on every request (autocannon sets its Content-Length). */
  body?: string;
  /** CPU seconds used so far by the server(s) that answer it (DevServer.cpuSeconds). */
  cpuSeconds?: () => number | null;
}

export interface RunResult {
  contestant: string;
  round: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU the contestant's `wrangler dev` spent per completed request, in ms; null if unknown. */
  cpuMsPerRequest: number | null;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** The first few non-2xx answers, so an invalid run says what failed (our error bodies carry no secrets). */
  failures: string[];
  /** A run with any non-2xx response, error or timeout measures something else. */
  valid: boolean;
}

/** How many non-2xx answers a run keeps (loadRun). */
const FAILURES_KEPT = 3;

/** How long after a run its contestant's CPU is read (see loadRun). */
const CPU_SETTLE_MS = 1_500;

export interface LoadOptions {
  connections: number;
  durationSeconds: number;
}

export async function loadRun(contestant: Contestant, round: number, options: LoadOptions): Promise<RunResult> {
  const cpuBefore = contestant.cpuSeconds?.() ?? null;
  const failures: string[] = [];
  const result = await autocannon({
    url: contestant.url,
    method: contestant.method ?? "GET",
    headers: contestant.headers,
    ...(contestant.body === undefined ? {} : { body: contestant.body }),
    connections: options.connections,
    duration: options.durationSeconds,
    requests: [
      {
        onResponse: (status, body, _context, headers) => {
          if (status < 300 || failures.length >= FAILURES_KEPT) return;
          const id = Object.entries(headers).find(([name]) => name.toLowerCase() === "x-request-id")?.[1] ?? "-";
          failures.push(`${status} request ${id}: ${body.slice(0, 300)}`);
        },
      },
    ],
  });
  // The audit Queue's consumer writes its batch up to a second after the
  // last request (workers/token/wrangler.toml, max_batch_timeout): that work
  // is part of the requests' cost too.
  if (contestant.cpuSeconds) await new Promise((resolve) => setTimeout(resolve, CPU_SETTLE_MS));
  const cpuAfter = contestant.cpuSeconds?.() ?? null;
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, s]) => [code, s.count]));
  return {
    contestant: contestant.name,
    round,
    // Completed requests over the run's wall time: the per-second samples'
    // average would drop the last partial second.
    requestsPerSecond: result.requests.total / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    cpuMsPerRequest:
      cpuBefore === null || cpuAfter === null || result.requests.total === 0
        ? null
        : ((cpuAfter - cpuBefore) * 1000) / result.requests.total,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    failures,
    valid: result.non2xx === 0 && result.errors === 0 && result.timeouts === 0 && result.requests.total > 0,
  };
}
