import type { Upstream, UpstreamBinding } from "../routing/route-table.ts";

/** What a route's upstream is reached through: a service binding, or the internet. */
export function upstreamFetcher(upstream: Upstream, env: Record<UpstreamBinding, Fetcher>): Fetcher {
  return "binding" in upstream ? env[upstream.binding] : INTERNET;
}

/**
 * The URL a request is forwarded to: the normalised path (never the raw one)
 * and the query. Over a service binding it keeps the public origin, so the
 * downstream sees what the client asked for; an https upstream gets the path
 * after its own base path.
 */
export function forwardUrl(upstream: Upstream, url: URL, path: string): string {
  if ("binding" in upstream) return `${url.origin}${path}${url.search}`;
  return `${upstream.url.replace(/\/+$/, "")}${path}${url.search}`;
}

const INTERNET = { fetch: (input: RequestInfo | URL, init?: RequestInit) => fetch(input, init) } as Fetcher;
