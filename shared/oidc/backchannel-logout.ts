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

/** Better Auth's own limit for one delivery (its BACKCHANNEL_DISPATCH_TIMEOUT_MS). */
const DELIVERY_TIMEOUT_MS = 5_000;
/** Deliveries under way at once: the runtime opens six connections at a time per invocation. */
const PARALLEL_DELIVERIES = 6;
/** Of those, at most this many to one client, so a slow receiver holds two of the six and the rest go on. */
const PARALLEL_DELIVERIES_PER_CLIENT = 2;
/**
 * Deliveries per ended-sessions call; the rest are logged as skipped (one
 * line with the counts). Each costs up to two subrequests (a signature
 * through a service binding, the POST), and an invocation may make 1,000.
 */
const MAX_DELIVERIES = 400;
/**
 * No delivery starts later than this after the call began, so the last one
 * ends (its own DELIVERY_TIMEOUT_MS) before the runtime cancels background
 * work, about 30 s after the response (ctx.waitUntil); the rest are logged.
 */
const SEND_WINDOW_MS = 20_000;

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
 * The time is bounded (SEND_WINDOW_MS) and shared, so one receiver must not
 * spend it for the others: a client's deliveries hold at most
 * PARALLEL_DELIVERIES_PER_CLIENT of the six places at a time, and once its
 * receiver timed out or could not be reached, or its URI was refused, its
 * other deliveries in the call are skipped. A receiver that answers slowly
 * on purpose, or never, thus slows only its own client's. What is not sent
 * is logged with the counts, by reason.
 */
export async function sendLogoutTokens(logouts: readonly SessionLogout[], sender: LogoutSender): Promise<void> {
  const deliveries = logouts.flatMap((logout) => logout.targets.map((target) => ({ logout, target })));
  const sent = deliveries.slice(0, MAX_DELIVERIES);
  const skipped = { over_cap: deliveries.length - sent.length, out_of_time: 0, receiver_down: 0 };
  const startedAt = Date.now();
  const down = new Set<string>();
  const byClient = new Map<string, typeof sent>();
  for (const delivery of sent) {
    const queue = byClient.get(delivery.target.clientId) ?? [];
    queue.push(delivery);
    byClient.set(delivery.target.clientId, queue);
  }
  // A few at a time, first come first served: each delivery's timeout starts
  // when its fetch does, so one queued behind the runtime's connection limit never times out waiting.
  let free = PARALLEL_DELIVERIES;
  const waiting: (() => void)[] = [];
  const place = () => (free > 0 ? (free--, Promise.resolve()) : new Promise<void>((go) => waiting.push(go)));
  const leave = () => {
    const nextInLine = waiting.shift();
    if (nextInLine) nextInLine();
    else free++;
  };
  const clientLane = async (queue: typeof sent) => {
    for (let delivery = queue.shift(); delivery; delivery = queue.shift()) {
      const { logout, target } = delivery;
      if (down.has(target.clientId)) {
        skipped.receiver_down++;
        continue;
      }
      await place();
      try {
        if (down.has(target.clientId)) skipped.receiver_down++;
        else if (Date.now() - startedAt > SEND_WINDOW_MS) skipped.out_of_time++;
        else if ((await deliver(logout, target, sender)) === "receiver_down") down.add(target.clientId);
      } finally {
        leave();
      }
    }
  };
  await Promise.all(
    [...byClient.values()].flatMap((queue) =>
      Array.from({ length: Math.min(PARALLEL_DELIVERIES_PER_CLIENT, queue.length) }, () => clientLane(queue)),
    ),
  );
  if (skipped.over_cap + skipped.out_of_time + skipped.receiver_down > 0) {
    logJson("warn", {
      event: "backchannel_logout.skipped",
      worker: sender.worker,
      planned: deliveries.length,
      ...skipped,
    });
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
  let logoutToken: string;
  try {
    const iat = Math.floor(Date.now() / 1000);
    // §2.4: `sub` and `sid` both, one client in `aud`, the event, no `nonce`.
    logoutToken = await sign({
      iss: issuer,
      aud: clientId,
      sub: logout.subject,
      sid: logout.sessionId,
      iat,
      exp: iat + MAX_LOGOUT_TOKEN_TTL_SECONDS,
      jti: crypto.randomUUID(),
      events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
    });
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
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
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

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : "unknown";
}
