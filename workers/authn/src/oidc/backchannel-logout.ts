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
 * veto it) and sent after it, in the background (§2.5: one attempt, no
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

/** The `session.delete` hooks (auth/create-auth.ts). */
export function sessionClientsLogout(env: Bindings, issuer: string) {
  const plans = new WeakMap<object, Map<string, SessionLogout>>();
  const sender = issuerLogoutSender(env, issuer);
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
      const bySession = plans.get(context) ?? new Map<string, SessionLogout>();
      bySession.set(session.id, { sessionId: session.id, subject: session.userId, targets });
      plans.set(context, bySession);
    },
    after: async (session: EndingSession, context: GenericEndpointContext | null | undefined): Promise<void> => {
      if (!context) return;
      const bySession = plans.get(context);
      const plan = bySession?.get(session.id);
      bySession?.delete(session.id);
      if (bySession?.size === 0) plans.delete(context);
      if (!plan) return;
      await context.context.runInBackgroundOrAwait(sendLogoutTokens([plan], sender));
    },
  };
}
