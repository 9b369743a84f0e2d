import type { GenericEndpointContext } from "@better-auth/core";
import { JWT_TYP } from "../../../../shared/contracts/tokens.ts";
import { logJson } from "../../../../shared/observability/log.ts";
import {
  type LogoutSender,
  type LogoutTarget,
  type SessionLogout,
  sendLogoutTokens,
} from "../../../../shared/oidc/backchannel-logout.ts";
import { issuerSigner } from "./issuer-signer.ts";
import { currentOutbox } from "./logout-outbox.ts";

/**
 * OIDC Back-Channel Logout 1.0 for the clients Better Auth leaves out.
 *
 * Better Auth's oauth-provider plans its notifications in its own
 * `session.delete` hooks from the tokens it stored for the session: an opaque
 * access token or a refresh token. A client that was given only an ID token
 * and a JWT access token (neither stored) is not told, though its ID token
 * names the session (`sid`) as Keycloak's would. The issuer records every
 * client it signs a token naming a session for, before it signs
 * (`oidc_session_client`, workers/token/src/oidc/sign-browser-token.ts), so
 * here, when a session ends through a Better Auth endpoint, each recorded
 * client with a `backchannel_logout_uri` that Better Auth will not notify
 * gets a Logout Token.
 *
 * Why alongside Better Auth rather than instead of it: its hook cannot be
 * turned off without turning off the jwt plugin (which signs every token),
 * and its plan also revokes the session's stored tokens. "Will not notify"
 * is its own rule, read from the same rows in the same phase (before the
 * delete, while the tokens still carry `session_id`): a client holding any
 * stored token of the session is its, whatever else holds; so every client
 * gets one Logout Token, never two. Like Better Auth's, only a session ended
 * with an endpoint context (sign-out, RP-initiated logout, session limits)
 * is planned; the plan is read before the delete (a later hook may still
 * veto it) and sent after it, with the request's other ended sessions
 * (oidc/logout-outbox.ts), in the background (§2.5: one attempt, no
 * retransmission), so neither a slow nor a failing receiver holds up or
 * fails the logout (§2.8). The rows go with the session (foreign key).
 * A session ended with no endpoint context (SCIM deactivation,
 * scim/deprovision.ts) is told by its caller to every client, since neither
 * hook runs a plan then; the sending is shared/oidc/backchannel-logout.ts.
 */

interface EndingSession {
  id: string;
  userId?: string | null;
}

type Bindings = Pick<AuthnEnv, "DB" | "TOKEN_SERVICE">;

/** Clients issued a token of the session, with a back-channel URI, enabled, and holding no token Better Auth stored for it. */
const UNNOTIFIED_CLIENTS = `
  SELECT c.client_id AS clientId, c.backchannel_logout_uri AS uri
    FROM oidc_session_client sc JOIN oidc_client c ON c.client_id = sc.client_id
   WHERE sc.session_id = ?1
     AND c.backchannel_logout_uri IS NOT NULL AND c.backchannel_logout_uri <> ''
     AND coalesce(c.disabled, 0) = 0
     AND NOT EXISTS (SELECT 1 FROM oidc_access_token a WHERE a.session_id = ?1 AND a.client_id = sc.client_id)
     AND NOT EXISTS (SELECT 1 FROM oidc_refresh_token r WHERE r.session_id = ?1 AND r.client_id = sc.client_id)`;

/** Logout Tokens sent from this Worker, signed by the issuer through TOKEN_SERVICE (issuer-signer.ts). */
export function issuerLogoutSender(env: Pick<AuthnEnv, "TOKEN_SERVICE">, issuer: string): LogoutSender {
  const sign = issuerSigner(env);
  return { issuer, sign: (claims) => sign(claims, { typ: JWT_TYP.logoutToken }), worker: "authn" };
}

/**
 * The sessions one delete call plans, for a hook running outside any
 * request's outbox (oidc/logout-outbox.ts): Better Auth runs every `before`
 * hook of a call, then the delete, then every `after` hook (its
 * deleteManyWithHooks: `/revoke-sessions`, change- or reset-password with
 * revocation), so the `after` hooks find the plans the `before` hooks left.
 */
interface Batch {
  /** Planned, the session not yet confirmed deleted. */
  awaiting: Map<string, SessionLogout>;
  /** Deleted: to send. */
  deleted: SessionLogout[];
  /** An `after` hook has run: the call's `before` hooks are all done, a later `before` is another call's. */
  deleting: boolean;
}

/** One request's batches: the one still taking `before` plans, and each planned session's. */
interface RequestBatches {
  open?: Batch;
  bySession: Map<string, Batch>;
}

/**
 * The `session.delete` hooks (auth/create-auth.ts).
 *
 * Sent once per request, not per session: Better Auth runs the `after` hook
 * once per session, and one sendLogoutTokens per session would give each
 * its own six places, down set and delivery cap, so a request ending many
 * sessions would start that many senders at once, contending for the
 * runtime's six connections per invocation: a stalling receiver's
 * connections would hold up the answering clients' queued POSTs (their
 * timeouts already running) until they too counted as down, a stalling
 * client would be tried once per session, and the cap would bound a
 * session, not the request. So a plan goes into the request's outbox
 * (oidc/logout-outbox.ts), which every request of this Worker has: marked
 * deleted only by its own session's `after` (a failed or vetoed delete is
 * never announced, and costs no other session its notice), sent with every
 * other deleted plan of the request in one sendLogoutTokens once the
 * request has answered and all its session-ending calls have settled,
 * however Better Auth interleaved them (`/revoke-other-sessions` deletes
 * each session with a call of its own, all at once).
 *
 * A hook running outside any outbox (no request of this Worker around it,
 * or after its outbox was sent) falls back to one send per delete call: the
 * plans of one call gather in one batch, keyed on the request (the endpoint
 * context when there is none), and its last `after` sends them; it starts
 * when no planned session of the call is left awaiting its `after`, never
 * on a timer. There the old limits hold: concurrent calls may each send,
 * and a call whose delete fails sends nothing for the sessions of others
 * that joined its batch.
 *
 * Still so with the outbox: Better Auth's own deliveries for the clients
 * holding stored tokens (oauth-provider, not ours to hold back) run at the
 * same time, per delete call, and share the runtime's six connections: a
 * POST of ours may queue behind them with its timeout (4 s, started when our
 * send gives it a place) running; theirs end within their 5 s timeout.
 */
export function sessionClientsLogout(env: Bindings, issuer: string) {
  const requests = new WeakMap<object, RequestBatches>();
  const sender = issuerLogoutSender(env, issuer);
  // The request being served, so that nested endpoint calls of one request share it.
  const requestOf = (context: GenericEndpointContext): object => context.request ?? context;
  return {
    before: async (session: EndingSession, context: GenericEndpointContext | null | undefined): Promise<void> => {
      if (!context || !session.userId) return;
      let targets: LogoutTarget[];
      try {
        const { results } = await env.DB.prepare(UNNOTIFIED_CLIENTS).bind(session.id).all<LogoutTarget>();
        targets = results;
      } catch (error) {
        // Best effort (§2.8): a failed read costs these clients their notice, never the logout.
        logJson("error", {
          event: "backchannel_logout.plan_failed",
          worker: "authn",
          error: error instanceof Error ? error.name : "unknown",
        });
        return;
      }
      if (targets.length === 0) return;
      const plan = { sessionId: session.id, subject: session.userId, targets };
      if (currentOutbox()?.plan(plan, sender)) return;
      const key = requestOf(context);
      const batches = requests.get(key) ?? { bySession: new Map<string, Batch>() };
      requests.set(key, batches);
      if (!batches.open || batches.open.deleting) batches.open = { awaiting: new Map(), deleted: [], deleting: false };
      batches.open.awaiting.set(session.id, plan);
      batches.bySession.set(session.id, batches.open);
    },
    after: async (session: EndingSession, context: GenericEndpointContext | null | undefined): Promise<void> => {
      if (!context) return;
      const confirmed = currentOutbox()?.confirm(session.id);
      if (confirmed === "queued") return;
      // Planned in an outbox that has been sent since: this one goes alone rather than not at all.
      if (confirmed) {
        await context.context.runInBackgroundOrAwait(sendLogoutTokens([confirmed], sender));
        return;
      }
      const batches = requests.get(requestOf(context));
      const batch = batches?.bySession.get(session.id);
      if (!batches || !batch) return;
      batches.bySession.delete(session.id);
      const plan = batch.awaiting.get(session.id);
      batch.awaiting.delete(session.id);
      batch.deleting = true;
      if (plan) batch.deleted.push(plan);
      if (batch.awaiting.size > 0) return;
      if (batches.open === batch) batches.open = undefined;
      if (batches.bySession.size === 0) requests.delete(requestOf(context));
      if (batch.deleted.length === 0) return;
      await context.context.runInBackgroundOrAwait(sendLogoutTokens(batch.deleted, sender));
    },
  };
}
