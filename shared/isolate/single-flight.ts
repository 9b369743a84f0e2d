/**
 * One load for the concurrent requests of an isolate that all need the same
 * missing piece of isolate state (an org's revocation view, a policy
 * version, the verification keys): the first request runs the load in its
 * own I/O context; the others wait for its result on timers of their own
 * and never await its promise.
 *
 * Why not hand everyone the first request's promise: workerd (wrangler
 * 4.164's, at least) can run the continuation of an await on a promise that
 * another request's I/O settles in that other request's I/O context. The
 * waiter then makes its upstream call on behalf of the loading request, and
 * the runtime refuses to send that answer's body as the waiter's response:
 * "Cannot perform I/O on behalf of a different request", a 500 for every
 * waiter at once. The bench saw such bursts at the start of load, when the
 * revocation views of ten concurrent requests were due one refresh
 * (README.md, "Measured", "Seen under load, found and fixed"). Plain data
 * — the loaded value, an error — crosses requests safely; only promises and
 * I/O objects do not.
 *
 * A waiter also never hangs on a leader that cannot finish (its request was
 * cancelled mid-load): after `maxWaitMs` it loads on its own.
 */
export interface SingleFlightOptions {
  /** How long a waiter waits for the first request's load before it runs its own. */
  maxWaitMs: number;
}

type Outcome<V> = { ok: true; value: V } | { ok: false; error: unknown };

interface Flight<V> {
  outcome?: Outcome<V>;
}

/** A waiter looks again after 1, 2, 4, then every MAX_PAUSE_MS: a KV or Durable Object read takes a few. */
const MAX_PAUSE_MS = 4;

export const SINGLE_FLIGHT_DEFAULTS: SingleFlightOptions = { maxWaitMs: 5_000 };

export class SingleFlight<V> {
  private readonly flights = new Map<string, Flight<V>>();

  constructor(private readonly options: SingleFlightOptions = SINGLE_FLIGHT_DEFAULTS) {
    if (!(options.maxWaitMs > 0)) throw new RangeError("SingleFlight: maxWaitMs must be positive");
  }

  /** Loads in flight now (for tests and health). */
  get size(): number {
    return this.flights.size;
  }

  /** `load()`'s result, run once for every caller that asks for `key` while it runs. */
  run(key: string, load: () => Promise<V>): Promise<V> {
    const flight = this.flights.get(key);
    return flight ? this.follow(key, flight, load) : this.lead(key, load);
  }

  private async lead(key: string, load: () => Promise<V>): Promise<V> {
    const flight: Flight<V> = {};
    this.flights.set(key, flight);
    try {
      const value = await load();
      flight.outcome = { ok: true, value };
      return value;
    } catch (error) {
      flight.outcome = { ok: false, error };
      throw error;
    } finally {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    }
  }

  private async follow(key: string, flight: Flight<V>, load: () => Promise<V>): Promise<V> {
    const started = Date.now();
    let pause = 1;
    while (flight.outcome === undefined) {
      if (Date.now() - started >= this.options.maxWaitMs) {
        // The leader is stuck: this request takes over (a later caller follows it instead).
        if (this.flights.get(key) === flight) this.flights.delete(key);
        return this.run(key, load);
      }
      // A timer of this request's own: its continuation runs in this request's I/O context.
      await new Promise<void>((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, MAX_PAUSE_MS);
    }
    if (flight.outcome.ok) return flight.outcome.value;
    throw flight.outcome.error;
  }
}
