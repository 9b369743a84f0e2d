import type { GenericEndpointContext } from "@better-auth/core";
import { BACKCHANNEL_LOGOUT_EVENT, MAX_LOGOUT_TOKEN_TTL_SECONDS } from "../../../../shared/contracts/oidc.ts";
import { isPermittedOutboundUrl } from "../../../../shared/http/outbound-url.ts";
import { logJson } from "../../../../shared/observability/log.ts";
import { JWT_TYP } from "../../../../shared/contracts/tokens.ts";
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
 */

/** Better Auth's own limit for one delivery (its BACKCHANNEL_DISPATCH_TIMEOUT_MS). */
const DELIVERY_TIMEOUT_MS = 5_000;

interface Target {
  clientId: string;
  uri: string;
}

interface Plan {
  sessionId: string;
  /** `sub` as in the client's ID token: the person's id (no client has pairwise subjects). */
  subject: string;
  targets: Target[];
}

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

/** The `session.delete` hooks (auth/create-auth.ts). */
export function sessionClientsLogout(env: Bindings, issuer: string) {
  const plans = new WeakMap<object, Map<string, Plan>>();
  const sign = issuerSigner(env);
  return {
    before: async (session: EndingSession, context: GenericEndpointContext | null | undefined): Promise<void> => {
      if (!context || !session.userId) return;
      let targets: Target[];
      try {
        const { results } = await env.DB.prepare(UNNOTIFIED_CLIENTS).bind(session.id).all<Target>();
        targets = results;
      } catch (error) {
        // Best effort (§2.8): a failed read costs these clients their notice, never the logout.
        logJson("error", { event: "backchannel_logout.plan_failed", worker: "authn", error: errorName(error) });
        return;
      }
      if (targets.length === 0) return;
      const bySession = plans.get(context) ?? new Map<string, Plan>();
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
      await context.context.runInBackgroundOrAwait(deliver(plan, issuer, sign));
    },
  };
}

/** One Logout Token per client, POSTed once, as Better Auth POSTs its own (its deliverBackchannelLogoutTokens). */
async function deliver(plan: Plan, issuer: string, sign: ReturnType<typeof issuerSigner>): Promise<void> {
  await Promise.allSettled(
    plan.targets.map(async ({ clientId, uri }) => {
      try {
        // Checked at registration; checked again, as every URL we fetch for a tenant is, in case the row changed since.
        if (!isPermittedOutboundUrl(uri, issuer)) {
          logJson("warn", { event: "backchannel_logout.refused_uri", worker: "authn", client_id: clientId });
          return;
        }
        const iat = Math.floor(Date.now() / 1000);
        // §2.4; the issuer checks the shape again before it signs (workers/token/src/oidc/sign-browser-token.ts).
        const logoutToken = await sign(
          {
            iss: issuer,
            aud: clientId,
            sub: plan.subject,
            sid: plan.sessionId,
            iat,
            exp: iat + MAX_LOGOUT_TOKEN_TTL_SECONDS,
            jti: crypto.randomUUID(),
            events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
          },
          { typ: JWT_TYP.logoutToken },
        );
        // `redirect: "error"` as Better Auth sends it: a redirect is a failure (http/redirect-error-fetch.ts).
        const response = await fetch(uri, {
          method: "POST",
          headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
          body: new URLSearchParams({ logout_token: logoutToken }),
          signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
          redirect: "error",
        });
        await response.body?.cancel();
        if (response.status !== 200 && response.status !== 204) {
          logJson("warn", {
            event: "backchannel_logout.refused",
            worker: "authn",
            client_id: clientId,
            status: response.status,
          });
        }
      } catch (error) {
        // Never the token or the URI: only whose delivery failed, and how.
        logJson("warn", {
          event: "backchannel_logout.failed",
          worker: "authn",
          client_id: clientId,
          error: errorName(error),
        });
      }
    }),
  );
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : "unknown";
}
