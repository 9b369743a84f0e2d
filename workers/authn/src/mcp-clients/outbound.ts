import type { MetadataTransport } from "./metadata-document.ts";

/**
 * How metadata documents are fetched: the runtime's `fetch`, or the optional
 * CIMD_OUTBOUND service binding when one is bound (an egress proxy; the
 * in-runtime tests bind the https host Worker test/support/runtime/cimd-host
 * there, vitest.config.ts). Deployments bind nothing.
 */
export function metadataOutbound(env: object): MetadataTransport | undefined {
  const outbound = (env as { CIMD_OUTBOUND?: Fetcher }).CIMD_OUTBOUND;
  return outbound ? (request) => outbound.fetch(request) : undefined;
}
