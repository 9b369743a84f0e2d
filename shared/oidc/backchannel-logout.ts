/**
 * OIDC Back-Channel Logout 1.0 sending, for every way a session ends:
 *
 * - through a Better Auth endpoint (sign-out, RP-initiated logout, session
 *   limits): the authn Worker's `session.delete` hooks tell the clients
 *   Better Auth's own hook leaves out (workers/authn/src/oidc/backchannel-logout.ts);
 * - an operator's cut-off of a person (ban, sign-out): the token Worker
 *   deletes the sessions itself, no Better Auth hook runs, so every client
 *   of each session is told (workers/token/src/admin/person-cutoff.ts);
 * - SCIM deactivation: the sessions end through Better Auth's internal
 *   adapter outside any endpoint, where neither hook plans anything, so
 *   again every client (workers/authn/src/scim/deprovision.ts).
 *
 * The one thing that differs between the Workers is who signs: the token
 * Worker is the issuer and signs with its current key; the authn Worker
 * asks it through TOKEN_SERVICE (`signBrowserToken`, kind `logout_token`).
 * Either way the issuer checks the claims (§2.4) before it signs
 * (workers/token/src/oidc/sign-browser-token.ts).
 */
import { BACKCHANNEL_LOGOUT_EVENT, MAX_LOGOUT_TOKEN_TTL_SECONDS } from "../contracts/oidc.ts";
import { isPermittedOutboundUrl } from "../http/outbound-url.ts";
import { logJson } from "../observability/log.ts";

/**
 * One delivery's whole time, the issuer's signature and the POST: §2.8, the
 * OP should not wait on an RP, and §2.5, one attempt, no retransmission. A
 * receiver answers by ending a session; one not done in this long stalls.
 */
const DELIVERY_TIMEOUT_MS = 4_000;
/**
 * Deliveries under way at once: the runtime opens six connections at a time
 * per invocation and queues the rest, so a seventh fetch would spend its own
 * timeout waiting for a stalled receiver's connection. Each delivery's
 * timeout starts when it holds a place, never while it waits for one.
 */
const PARALLEL_DELIVERIES = 6;
/** Of those, at most this many to one client, and only once its receiver has answered once: a stalling one holds one place. */
const PARALLEL_DELIVERIES_PER_CLIENT = 2;
/**
 * Deliveries per ended-sessions call; the rest are logged as skipped (one
 * line with the counts). Each costs up to two subrequests (a signature
 * through a service binding, the POST), and an invocation may make 1,000.
 * Kept in round order (see sendLogoutTokens): what goes over it is the last
 * rounds (clients' later sessions, by session id), and within the last round
 * kept, the clients last by client_id.
 */
const MAX_DELIVERIES = 400;
/**
 * No delivery starts later than this after the call began, so the last one
 * ends (DELIVERY_TIMEOUT_MS) by 24 s, before the runtime cancels background
 * work about 30 s after the response (ctx.waitUntil); the rest are logged.
 *
 * So 30 clients' first deliveries start in time even if every receiver
 * stalls (PARALLEL_DELIVERIES × ⌊LAST_START_MS / DELIVERY_TIMEOUT_MS⌋): the
 * first round goes ahead of any later one, and each stalling client holds one
 * place for one timeout, so the six places start a new batch of first
 * deliveries at least every 4 s (by 0, 4, 8, 12 and 16 s). Past 30, first
 * deliveries still go as places free, in client_id order, until 20 s.
 */
const LAST_START_MS = 20_000;

/** A client to tell: its id (the token's `aud`) and its registered `backchannel_logout_uri`. */
export interface LogoutTarget {
  clientId: string;
  uri: string;
}

/** One ended session and whom to tell of it. */
export interface SessionLogout {
  sessionId: string;
  /** `sub` as in the client's ID token: the person's id (no client has pairwise subjects). */
  subject: string;
  targets: LogoutTarget[];
}

/** Signs a Logout Token's claims as the issuer (`typ` logout+jwt); throws if the issuer refuses. */
export type LogoutTokenSigner = (claims: Record<string, unknown>) => Promise<string>;

export interface LogoutSender {
  issuer: string;
  sign: LogoutTokenSigner;
  /** The Worker sending, for the log lines. */
  worker: string;
}

/**
 * Every client that holds or was issued a token of one of the person's
 * sessions, with a back-channel URI, enabled: those the issuer recorded
 * signing a token naming the session for (`oidc_session_client`) and those
 * holding a token Better Auth stored for it (its opaque access and refresh
 * tokens, the clients its own hook would tell). UNION: one row per client
 * per session, so nobody is told twice. Read in the same phase as Better
 * Auth reads its plan: before the delete, while the rows still name the
 * session (the records cascade away with it, the tokens' `session_id` is
 * cleared).
 */
const PERSON_SESSION_CLIENTS = `
  SELECT held.session_id AS sessionId, c.client_id AS clientId, c.backchannel_logout_uri AS uri
    FROM (
      SELECT sc.session_id, sc.client_id FROM session s JOIN oidc_session_client sc ON sc.session_id = s.id WHERE s.user_id = ?1
      UNION
      SELECT a.session_id, a.client_id FROM session s JOIN oidc_access_token a ON a.session_id = s.id WHERE s.user_id = ?1
      UNION
      SELECT r.session_id, r.client_id FROM session s JOIN oidc_refresh_token r ON r.session_id = s.id WHERE s.user_id = ?1
    ) held
    JOIN oidc_client c ON c.client_id = held.client_id
   WHERE c.backchannel_logout_uri IS NOT NULL AND c.backchannel_logout_uri <> ''
     AND coalesce(c.disabled, 0) = 0
   ORDER BY held.session_id, c.client_id`;

/** Row of personSessionClients. */
export interface SessionClientRow {
  sessionId: string;
  clientId: string;
  uri: string;
}

/** The statement, for a caller that runs it in the same batch (one transaction) as the sessions' delete. */
export function personSessionClients(db: D1Database, userId: string): D1PreparedStatement {
  return db.prepare(PERSON_SESSION_CLIENTS).bind(userId);
}

/** personSessionClients' rows, by session. */
export function sessionLogouts(rows: readonly SessionClientRow[], subject: string): SessionLogout[] {
  const bySession = new Map<string, SessionLogout>();
  for (const { sessionId, clientId, uri } of rows) {
    const logout = bySession.get(sessionId) ?? { sessionId, subject, targets: [] };
    logout.targets.push({ clientId, uri });
    bySession.set(sessionId, logout);
  }
  return [...bySession.values()];
}

/** personSessionClients read alone; a failed read is logged and tells nobody (§2.8: never fails the caller). */
export async function readPersonLogouts(db: D1Database, userId: string, worker: string): Promise<SessionLogout[]> {
  try {
    const { results } = await personSessionClients(db, userId).all<SessionClientRow>();
    return sessionLogouts(results, userId);
  } catch (error) {
    logJson("error", { event: "backchannel_logout.plan_failed", worker, error: errorName(error) });
    return [];
  }
}

/**
 * One Logout Token per client per session, POSTed once as Better Auth POSTs
 * its own (its deliverBackchannelLogoutTokens): §2.5, one attempt, no
 * retransmission. Never rejects: a refused URI, a failed signature, a
 * receiver that is down, slow or answers an error is a log line naming the
 * client, never the token or the URI (§2.8: the logout stands either way).
 * Meant for the background (ctx.waitUntil), after the sessions are gone.
 *
 * The time is bounded (LAST_START_MS) and shared, and any client may be one
 * whose receiver stalls on purpose (a Client ID Metadata Document sets its
 * own `backchannel_logout_uri`), so no receiver may spend it for the others:
 *
 * - every client's deliveries start at once, each client a lane of its own,
 *   and take the six places in rounds: every client's first session before
 *   any client's second (ties by client_id), so the first delivery of each of
 *   30 clients starts in time however they answer (LAST_START_MS);
 * - each delivery has its own DELIVERY_TIMEOUT_MS, started when it holds a place;
 * - a client holds one place until its receiver has answered once, then up to
 *   PARALLEL_DELIVERIES_PER_CLIENT; once its receiver timed out or could not
 *   be reached, or its URI was refused, its other deliveries are skipped.
 *
 * A stalling receiver thus costs one place for one timeout; one that answers
 * slowly on purpose slows only later rounds (the person's other sessions),
 * never another client's first. What is not sent is logged with the counts, by reason.
 */
export async function sendLogoutTokens(logouts: readonly SessionLogout[], sender: LogoutSender): Promise<void> {
  const byClient = new Map<string, Delivery[]>();
  for (const logout of logouts) {
    for (const target of logout.targets) {
      const queue = byClient.get(target.clientId) ?? [];
      queue.push({ logout, target, round: queue.length, clientRank: 0 });
      byClient.set(target.clientId, queue);
    }
  }
  const clients = [...byClient.keys()].sort();
  clients.forEach((clientId, rank) => {
    for (const delivery of byClient.get(clientId) ?? []) delivery.clientRank = rank;
  });
  const planned = [...byClient.values()].flat().sort(inRounds);
  const kept = new Set(planned.slice(0, MAX_DELIVERIES));
  const skipped = { over_cap: planned.length - kept.size, out_of_time: 0, receiver_down: 0 };
  const startedAt = Date.now();
  const places = new Places(PARALLEL_DELIVERIES);
  const lanes: Promise<void>[] = [];
  const down = new Set<string>();
  const answered = new Set<string>();
  const clientLane = async (queue: Delivery[]) => {
    for (let delivery = queue.shift(); delivery; delivery = queue.shift()) {
      const { logout, target } = delivery;
      if (down.has(target.clientId)) {
        skipped.receiver_down++;
        continue;
      }
      await places.take(delivery);
      try {
        if (down.has(target.clientId)) skipped.receiver_down++;
        else if (Date.now() - startedAt > LAST_START_MS) skipped.out_of_time++;
        else {
          const outcome = await deliver(logout, target, sender);
          if (outcome === "receiver_down") down.add(target.clientId);
          else if (outcome !== "not_signed" && !answered.has(target.clientId)) {
            answered.add(target.clientId);
            // Its receiver answers: a second lane, so a person's many sessions at one client go faster.
            for (let extra = 1; extra < PARALLEL_DELIVERIES_PER_CLIENT && queue.length > 0; extra++) {
              lanes.push(clientLane(queue));
            }
          }
        }
      } finally {
        places.leave();
      }
    }
  };
  for (const clientId of clients) {
    const queue = (byClient.get(clientId) ?? []).filter((delivery) => kept.has(delivery));
    if (queue.length > 0) lanes.push(clientLane(queue));
  }
  // Lanes may add lanes while they run: wait until none is left.
  for (let lane = lanes.shift(); lane; lane = lanes.shift()) await lane;
  if (skipped.over_cap + skipped.out_of_time + skipped.receiver_down > 0) {
    logJson("warn", {
      event: "backchannel_logout.skipped",
      worker: sender.worker,
      planned: planned.length,
      ...skipped,
    });
  }
}

/** One Logout Token to send: its client's `round`-th session, the client's rank by client_id. */
interface Delivery {
  logout: SessionLogout;
  target: LogoutTarget;
  round: number;
  clientRank: number;
}

/** Every client's first session, then every client's second, …; within a round by client_id. */
function inRounds(a: Delivery, b: Delivery): number {
  return a.round - b.round || a.clientRank - b.clientRank;
}

/**
 * The sending places, handed to waiters in round order rather than in the
 * order they asked: a lane asking for its client's second session never
 * goes ahead of another client's first, however early it asks.
 */
class Places {
  private waiting: { delivery: Delivery; go: () => void }[] = [];

  constructor(private free: number) {}

  take(delivery: Delivery): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((go) => {
      const at = this.waiting.findIndex((waiter) => inRounds(delivery, waiter.delivery) < 0);
      this.waiting.splice(at < 0 ? this.waiting.length : at, 0, { delivery, go });
    });
  }

  leave(): void {
    const next = this.waiting.shift();
    if (next) next.go();
    else this.free++;
  }
}

/** How one delivery ended: `receiver_down` when nothing more should go to the client's receiver in this call. */
type DeliveryOutcome = "delivered" | "refused" | "not_signed" | "receiver_down";

async function deliver(
  logout: SessionLogout,
  { clientId, uri }: LogoutTarget,
  sender: LogoutSender,
): Promise<DeliveryOutcome> {
  const { issuer, sign, worker } = sender;
  // Checked at registration; checked again, as every URL we fetch for a tenant is, in case the row changed since.
  if (!isPermittedOutboundUrl(uri, issuer)) {
    logJson("warn", { event: "backchannel_logout.refused_uri", worker, client_id: clientId });
    return "receiver_down";
  }
  // One deadline for the signature and the POST: the place is held for no longer, whatever answers late.
  const deadline = AbortSignal.timeout(DELIVERY_TIMEOUT_MS);
  let logoutToken: string;
  try {
    const iat = Math.floor(Date.now() / 1000);
    // §2.4: `sub` and `sid` both, one client in `aud`, the event, no `nonce`.
    const signed = sign({
      iss: issuer,
      aud: clientId,
      sub: logout.subject,
      sid: logout.sessionId,
      iat,
      exp: iat + MAX_LOGOUT_TOKEN_TTL_SECONDS,
      jti: crypto.randomUUID(),
      events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
    });
    logoutToken = await beforeDeadline(signed, deadline);
  } catch (error) {
    logJson("warn", { event: "backchannel_logout.not_signed", worker, client_id: clientId, error: errorName(error) });
    return "not_signed";
  }
  try {
    // A redirect is a failure, as Better Auth's `redirect: "error"` makes it (§2.5 names 200 and 204 only):
    // "manual", since workerd refuses "error" (workers/authn/src/http/redirect-error-fetch.ts), and a 3xx is logged below.
    const response = await fetch(uri, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: new URLSearchParams({ logout_token: logoutToken }),
      signal: deadline,
      redirect: "manual",
    });
    await response.body?.cancel();
    if (response.status === 200 || response.status === 204) return "delivered";
    logJson("warn", { event: "backchannel_logout.refused", worker, client_id: clientId, status: response.status });
    return "refused";
  } catch (error) {
    // Never the token or the URI: only whose delivery failed, and how.
    logJson("warn", { event: "backchannel_logout.failed", worker, client_id: clientId, error: errorName(error) });
    return "receiver_down";
  }
}

/** `work`'s result, or the deadline's reason once it passes first (a signature cannot be cancelled, only no longer awaited). */
function beforeDeadline<T>(work: Promise<T>, deadline: AbortSignal): Promise<T> {
  if (deadline.aborted) return Promise.reject(deadline.reason);
  return new Promise<T>((resolve, reject) => {
    const passed = () => reject(deadline.reason);
    deadline.addEventListener("abort", passed, { once: true });
    work.then(resolve, reject).finally(() => deadline.removeEventListener("abort", passed));
  });
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : "unknown";
}
