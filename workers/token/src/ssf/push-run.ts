import { SSF_DELIVERY } from "../../../../shared/contracts/ssf.ts";
import { OUTBOUND_URL_FORBIDDEN, outboundUrlProblem } from "../../../../shared/http/outbound-url.ts";
import { tokenConfig } from "../config.ts";
import type { Outbox } from "./outbox.ts";
import { pushBackoffMs, pushSet, pushTransport } from "./push.ts";
import { unsealAuthorization } from "./stream-settings.ts";
import { findStream, STREAM_CONFIG_UNREADABLE, UnreadableStreamError } from "./stream-store.ts";

/** Pushes per run; the rest go in the next run, which follows at once. */
const PUSH_BATCH = 25;
/** What a push waits with when its stream's stored Authorization does not unseal (never sent without it). */
export const PUSH_AUTHORIZATION_UNREADABLE = "ERR_PUSH_AUTHORIZATION_UNREADABLE";
/** A paused stream's pushes are looked at again after this long. */
const PAUSED_RECHECK_MS = 5000;

/**
 * One push run of an org's transmitter (transmitter.ts, which keeps runs from
 * overlapping): pushes what is due, oldest first (RFC 8935). A stream that
 * fails waits, its later SETs too, so a receiver sees its SETs in order. A
 * SET leaves the outbox only on the receiver's answer (delivered, or
 * rejected as bad — it will never be accepted), so delivery is at least once.
 */
export async function runDuePushes(env: TokenEnv, outbox: Outbox): Promise<void> {
  const now = Date.now();
  const rows = outbox.due(now, PUSH_BATCH);
  if (rows.length === 0) return;
  const { keyEncryptionSecret: secret, issuer } = tokenConfig(env);
  const transport = pushTransport(env);
  const blocked = new Set<string>();
  const streams = new Map<string, Awaited<ReturnType<typeof findStream>>>();
  // A failed push waits with backoff, and so does every later SET of its stream this run.
  const waitWith = (row: (typeof rows)[number], error: string) => {
    outbox.retryLater(row.stream_id, row.jti, Date.now() + pushBackoffMs(row.attempts + 1), error);
    blocked.add(row.stream_id);
  };
  for (const row of rows) {
    if (blocked.has(row.stream_id)) continue;
    if (!streams.has(row.stream_id)) {
      try {
        streams.set(row.stream_id, await findStream(env.DB, row.stream_id));
      } catch (error) {
        if (!(error instanceof UnreadableStreamError)) throw error;
        // A damaged row waits as this stream's failure (its status says so), never the run's.
        console.error(error.message);
        waitWith(row, STREAM_CONFIG_UNREADABLE);
        continue;
      }
    }
    const stream = streams.get(row.stream_id);
    if (!stream || stream.status === "disabled") {
      outbox.dropStream(row.stream_id);
      blocked.add(row.stream_id);
      continue;
    }
    if (stream.status === "paused") {
      outbox.holdStream(row.stream_id, now + PAUSED_RECHECK_MS);
      blocked.add(row.stream_id);
      continue;
    }
    if (stream.method !== SSF_DELIVERY.push || stream.endpointUrl === null) {
      outbox.setStreamMethod(row.stream_id, false, now);
      blocked.add(row.stream_id);
      continue;
    }
    // Checked when set (ssf/stream-settings.ts); again here, so a row stored before that check, or
    // written around the API, never carries the receiver's Authorization to an internal address.
    if (outboundUrlProblem(stream.endpointUrl, issuer) !== undefined) {
      waitWith(row, OUTBOUND_URL_FORBIDDEN);
      continue;
    }
    let authorization: string | undefined;
    try {
      authorization = stream.authorizationSealed
        ? await unsealAuthorization(secret, stream.streamId, stream.authorizationSealed)
        : undefined;
    } catch (error) {
      // A stored value that does not unseal (damaged, or written around the API) is this stream's
      // failure, never the run's: thrown, it held every later SET of the org and left the row due at once.
      console.error("ssf push authorization unreadable", row.stream_id, error);
      waitWith(row, PUSH_AUTHORIZATION_UNREADABLE);
      continue;
    }
    const outcome = await pushSet(transport, stream.endpointUrl, authorization, row.set_jwt);
    if (outcome.kind === "delivered") {
      outbox.remove(row.stream_id, row.jti);
    } else if (outcome.kind === "rejected") {
      console.warn("ssf push rejected by the receiver", row.stream_id, row.jti, outcome.err);
      outbox.remove(row.stream_id, row.jti);
    } else {
      waitWith(row, outcome.error);
    }
  }
}
