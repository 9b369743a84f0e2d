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
}

export interface RunResult {
  contestant: string;
  round: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** A run with any non-2xx response, error or timeout measures something else. */
  valid: boolean;
}

export interface LoadOptions {
  connections: number;
  durationSeconds: number;
}

export async function loadRun(contestant: Contestant, round: number, options: LoadOptions): Promise<RunResult> {
  const result = await autocannon({
    url: contestant.url,
    method: contestant.method ?? "GET",
    headers: contestant.headers,
    ...(contestant.body === undefined ? {} : { body: contestant.body }),
    connections: options.connections,
    duration: options.durationSeconds,
  });
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, s]) => [code, s.count]));
  return {
    contestant: contestant.name,
    round,
    // Completed requests over the run's wall time: the per-second samples'
    // average would drop the last partial second.
    requestsPerSecond: result.requests.total / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    valid: result.non2xx === 0 && result.errors === 0 && result.timeouts === 0 && result.requests.total > 0,
  };
}
