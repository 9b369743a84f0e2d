// The part of autocannon 9's programmatic API the bench uses (it ships no
// types). Latencies are in milliseconds, recorded with 1 ms resolution.
declare module "autocannon" {
  interface Options {
    url: string;
    connections?: number;
    duration?: number;
    headers?: Record<string, string>;
    method?: string;
    body?: string;
    /** Per-request hooks; `onResponse` sees every answer (status, body, headers). */
    requests?: Array<{
      onResponse?: (status: number, body: string, context: object, headers: Record<string, string>) => void;
    }>;
  }
  interface Histogram {
    mean: number;
    stddev: number;
    min: number;
    max: number;
    p50: number;
    p99: number;
    total?: number;
  }
  interface Result {
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    "2xx": number;
    statusCodeStats: Record<string, { count: number }>;
    latency: Histogram;
    requests: Histogram & { total: number; sent: number };
  }
  function autocannon(options: Options): Promise<Result>;
  export default autocannon;
  export type { Options, Result };
}
