/** A channel that ended early is not replaced sooner than this, so an unreachable object is not hammered. */
export const CHANNEL_RETRY_MS = 1_000;

/**
 * The longest a refusal's Retry-After holds a channel's successor off. The
 * view pulls within its bound all the while, so a longer wait costs only
 * pulls; but an object that asked for an hour (a bug, or a value meant for
 * someone else) should not leave an isolate without push for that long
 * after it has room again.
 */
export const CHANNEL_MAX_RETRY_AFTER_MS = 300_000;

/** RFC 9110 §10.2.3 delay-seconds: 1*DIGIT, nothing else. */
const DELAY_SECONDS = /^[0-9]+$/;

/**
 * How long after a channel's connect was answered without a socket its
 * successor may connect. A refusal (4xx/5xx) that says when to come back
 * (Retry-After, RFC 9110 §10.2.3, in its delay-seconds form) is honoured,
 * within [CHANNEL_RETRY_MS, CHANNEL_MAX_RETRY_AFTER_MS]: an org object at
 * MAX_GATEWAY_CHANNELS answers 429 with `Retry-After: 60`, and every
 * isolate of every busy gateway retrying once a second anyway spent the full
 * object's time on upgrades it would refuse. Anything else (no header, an
 * HTTP-date, which our object never sends and another clock would have to
 * be trusted for, or a value that is not delay-seconds) keeps the usual
 * CHANNEL_RETRY_MS.
 */
export function channelRetryDelayMs(answer: Response): number {
  if (answer.status < 400) return CHANNEL_RETRY_MS;
  const value = answer.headers.get("retry-after")?.trim();
  if (value === undefined || !DELAY_SECONDS.test(value)) return CHANNEL_RETRY_MS;
  const delayMs = Number(value) * 1000;
  return Math.min(Math.max(delayMs, CHANNEL_RETRY_MS), CHANNEL_MAX_RETRY_AFTER_MS);
}
