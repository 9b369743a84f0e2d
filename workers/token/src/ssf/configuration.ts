import type { Context } from "hono";
import { ENDPOINT, ssfAudience } from "../../../../shared/contracts/endpoints.ts";
import { SSF_DELIVERY, SSF_PATH, type SsfStreamConfiguration } from "../../../../shared/contracts/ssf.ts";
import { tokenConfig } from "../config.ts";
import type { StreamRecord } from "./stream-store.ts";
import { SSF_EVENTS_SUPPORTED } from "../../../../shared/contracts/ssf.ts";

/**
 * SSF 1.0 §8.1.1 `min_verification_interval`: a stream's verification
 * requests closer together than this are 429 `rate_limited` (§8.1.4.2), so
 * a receiver cannot make the transmitter sign SETs as fast as it can ask.
 */
export const MIN_VERIFICATION_INTERVAL_SECONDS = 30;

/** The document changes only with a deployment; a short public cache is safe. */
const METADATA_CACHE = "public, max-age=300";

/**
 * SSF 1.0 §7.1 transmitter configuration metadata for the one issuer
 * (§7.2: served at /.well-known/ssf-configuration). Streams are managed
 * with an org client's token for ssfAudience carrying `ssf:manage`
 * (`authorization_schemes`: OAuth 2.0, SSF 1.0 §7.1.1). Every stream
 * carries all of its org's subjects until the receiver removes some
 * (`default_subjects: ALL`).
 */
export function ssfConfiguration(issuer: string) {
  const base = `${issuer}${ENDPOINT.ssf}`;
  return {
    spec_version: "1_0",
    issuer,
    jwks_uri: `${issuer}${ENDPOINT.jwks}`,
    delivery_methods_supported: [SSF_DELIVERY.push, SSF_DELIVERY.poll],
    configuration_endpoint: `${base}${SSF_PATH.streams}`,
    status_endpoint: `${base}${SSF_PATH.status}`,
    add_subject_endpoint: `${base}${SSF_PATH.addSubject}`,
    remove_subject_endpoint: `${base}${SSF_PATH.removeSubject}`,
    verification_endpoint: `${base}${SSF_PATH.verify}`,
    authorization_schemes: [{ spec_urn: "urn:ietf:rfc:6749" }],
    default_subjects: "ALL",
    // Ours: the audience a receiver's token must be minted for.
    resource: ssfAudience(issuer),
  };
}

export function ssfConfigurationEndpoint(c: Context<{ Bindings: TokenEnv }>): Response {
  return c.json(ssfConfiguration(tokenConfig(c.env).issuer), 200, {
    "Cache-Control": METADATA_CACHE,
    "Access-Control-Allow-Origin": "*",
  });
}

/** SSF 1.0 §8.1.1: a stream's configuration as the management API answers it (never the push Authorization). */
export function streamConfiguration(issuer: string, stream: StreamRecord): SsfStreamConfiguration {
  const endpoint =
    stream.method === SSF_DELIVERY.poll
      ? `${issuer}${ENDPOINT.ssf}${SSF_PATH.poll}/${stream.streamId}`
      : (stream.endpointUrl ?? "");
  return {
    stream_id: stream.streamId,
    iss: issuer,
    aud: stream.audience.length === 1 ? (stream.audience[0] as string) : stream.audience,
    events_supported: SSF_EVENTS_SUPPORTED,
    events_requested: stream.eventsRequested,
    events_delivered: stream.eventsDelivered,
    delivery: { method: stream.method, endpoint_url: endpoint },
    ...(stream.description !== null ? { description: stream.description } : {}),
    min_verification_interval: MIN_VERIFICATION_INTERVAL_SECONDS,
  };
}
