import { SSF_DELIVERY, SSF_EVENTS_SUPPORTED, type SsfDeliveryMethod } from "../../../../shared/contracts/ssf.ts";
import { HttpError } from "../../../../shared/errors/http.ts";
import { outboundUrlProblem } from "../../../../shared/http/outbound-url.ts";
import { seal, unseal } from "../keys/seal.ts";
import type { StreamSettings } from "./stream-store.ts";

const MAX_EVENTS_REQUESTED = 16;
const MAX_URI_LENGTH = 2048;
const MAX_AUTHORIZATION_LENGTH = 4096;
const MAX_DESCRIPTION_LENGTH = 256;
const MAX_AUDIENCES = 4;
const MAX_AUDIENCE_LENGTH = 256;

/** Receiver-supplied members (SSF 1.0 §8.1.1); transmitter-supplied ones a receiver may echo back are ignored. */
const RECEIVER_FIELDS = ["events_requested", "delivery", "description"];
const ECHOED_FIELDS = ["stream_id", "iss", "aud", "events_supported", "events_delivered", "min_verification_interval"];

type Body = Record<string, unknown>;

/** The associated data that binds a sealed push Authorization to its stream. */
function sealContext(streamId: string): string {
  return `ssf-push-authorization:${streamId}`;
}

export function unsealAuthorization(secret: string, streamId: string, sealed: string): Promise<string> {
  return unseal(secret, sealContext(streamId), sealed);
}

/**
 * A stream's receiver-supplied settings from a create, replace (PUT) or
 * update (PATCH, with `base` the current settings) body. Unknown members
 * are 400 `invalid_body`, as is a push delivery without a usable endpoint.
 * A push endpoint is https, without credentials or a fragment, and never a
 * loopback, private, link-local or internal host (shared/http/outbound-url.ts;
 * loopback only when the issuer itself is a loopback origin: a local
 * deployment); its Authorization value is sealed at rest.
 */
export async function parseStreamSettings(
  body: Body,
  context: { issuer: string; streamId: string; sealingSecret: string },
  base?: StreamSettings,
): Promise<StreamSettings> {
  const allowed = new Set([...RECEIVER_FIELDS, ...ECHOED_FIELDS]);
  for (const key of Object.keys(body)) {
    if (!allowed.has(key)) throw new HttpError("invalid_body", `${key}: not a stream member`);
  }
  const eventsRequested =
    body.events_requested === undefined && base ? base.eventsRequested : parseEventsRequested(body.events_requested);
  let method: SsfDeliveryMethod = base?.method ?? SSF_DELIVERY.poll;
  let endpointUrl = base?.endpointUrl ?? null;
  let authorizationSealed = base?.authorizationSealed ?? null;
  if (body.delivery !== undefined || !base) {
    const delivery = body.delivery ?? { method: SSF_DELIVERY.poll };
    if (typeof delivery !== "object" || delivery === null || Array.isArray(delivery)) {
      throw new HttpError("invalid_body", "delivery: an object with a method");
    }
    const d = delivery as Body;
    for (const key of Object.keys(d)) {
      if (!["method", "endpoint_url", "authorization_header"].includes(key)) {
        throw new HttpError("invalid_body", `delivery.${key}: not a delivery member`);
      }
    }
    if (d.method !== SSF_DELIVERY.push && d.method !== SSF_DELIVERY.poll) {
      throw new HttpError("invalid_body", `delivery.method: ${SSF_DELIVERY.push} or ${SSF_DELIVERY.poll}`);
    }
    method = d.method;
    if (method === SSF_DELIVERY.push) {
      endpointUrl = pushEndpoint(d.endpoint_url, context.issuer);
      authorizationSealed =
        d.authorization_header === undefined
          ? null
          : await seal(context.sealingSecret, sealContext(context.streamId), authorization(d.authorization_header));
    } else {
      // RFC 8936 §2: the transmitter supplies the poll endpoint.
      endpointUrl = null;
      authorizationSealed = null;
    }
  }
  const description = body.description === undefined ? (base?.description ?? null) : parseDescription(body.description);
  return {
    eventsRequested,
    eventsDelivered: eventsRequested.filter((e) => (SSF_EVENTS_SUPPORTED as readonly string[]).includes(e)),
    method,
    endpointUrl,
    authorizationSealed,
    description,
  };
}

/** A receiver may name the SETs' `aud` when it creates a stream (else: its client id). */
export function parseAudience(value: unknown, fallback: string): string[] {
  if (value === undefined) return [fallback];
  const list = typeof value === "string" ? [value] : value;
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    list.length > MAX_AUDIENCES ||
    !list.every((a) => typeof a === "string" && a.length > 0 && a.length <= MAX_AUDIENCE_LENGTH)
  ) {
    throw new HttpError("invalid_body", `aud: a string or 1 to ${MAX_AUDIENCES} strings`);
  }
  return [...new Set(list as string[])];
}

function parseEventsRequested(value: unknown): string[] {
  if (value === undefined) return [];
  if (
    !Array.isArray(value) ||
    value.length > MAX_EVENTS_REQUESTED ||
    !value.every((e) => typeof e === "string" && e.length > 0 && e.length <= MAX_URI_LENGTH)
  ) {
    throw new HttpError("invalid_body", `events_requested: at most ${MAX_EVENTS_REQUESTED} event type URIs`);
  }
  return [...new Set(value as string[])];
}

function pushEndpoint(value: unknown, issuer: string): string {
  if (typeof value !== "string" || value.length > MAX_URI_LENGTH || !URL.canParse(value)) {
    throw new HttpError("invalid_body", "delivery.endpoint_url: the receiver's absolute URL (RFC 8935 §2)");
  }
  // The transmitter POSTs SETs with the stored Authorization there: the shared outbound guard.
  const problem = outboundUrlProblem(value, issuer);
  if (problem !== undefined) throw new HttpError("invalid_body", `delivery.endpoint_url: ${problem}`);
  return new URL(value).href;
}

function authorization(value: unknown): string {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_AUTHORIZATION_LENGTH) {
    throw new HttpError("invalid_body", "delivery.authorization_header: a header value");
  }
  if (!/^[\x20-\x7e]+$/.test(value)) {
    throw new HttpError("invalid_body", "delivery.authorization_header: printable ASCII only");
  }
  return value;
}

function parseDescription(value: unknown): string | null {
  if (value === null) return null;
  if (typeof value !== "string" || value.length > MAX_DESCRIPTION_LENGTH) {
    throw new HttpError("invalid_body", `description: at most ${MAX_DESCRIPTION_LENGTH} characters`);
  }
  return value;
}
