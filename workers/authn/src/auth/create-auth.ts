import { runWithAdapter } from "@better-auth/core/context";
import { waitUntil } from "cloudflare:workers";
import { betterAuth } from "better-auth";
import { router } from "better-auth/api";
import { drizzleAdapter } from "better-auth/adapters/drizzle";
import { drizzle } from "drizzle-orm/d1";
import type { MiddlewareHandler } from "hono";
import * as schema from "../../../../shared/db/schema.ts";
import { authnConfig } from "../config.ts";
import { authMailOptions } from "../email/auth-mail.ts";
import { revocationEndpointHooks } from "../revocation/endpoint-hooks.ts";
import { membershipRevocationHooks, revokeUserEverywhere } from "../revocation/membership-revocation.ts";
import { orgDeletionHooks } from "../revocation/org-deletion.ts";
import { revocationReason } from "../revocation/record-or-refuse.ts";
import { revokeSessionEverywhere } from "../revocation/session-revocation.ts";
import { addressedRequestPlugin } from "../oidc/addressed-request.ts";
import { consentAnsweredOnce } from "../oidc/consent-claim.ts";
import { consentNeedsActiveOrg } from "../oidc/consent-org.ts";
import { sessionClientsLogout } from "../oidc/backchannel-logout.ts";
import { countSessionEnds } from "../oidc/logout-outbox.ts";
import { oidcRuntime } from "../oidc/runtime.ts";
import { baseAuthOptions } from "./options.ts";
import { orgSlugCheck, orgSlugHooks } from "./org-slug-hooks.ts";
import { betterAuthSessionOptions, clampToAbsoluteTimeout } from "./session-limits.ts";
import { refusingBannedSessions } from "./banned-session-insert.ts";
import { sessionStartHook } from "./session-start.ts";
import { totpCodeClaim } from "../two-factor/totp-code-claim.ts";
import { revokeOnPasswordReset } from "../security/unproven-account-reset.ts";
import { directoryAccountLinks } from "../sso/directory-accounts.ts";
import { requireSignUpBrowserOrPassword, signUpBindingPlugin } from "../security/sign-up-binding.ts";
import { clearOnPasswordReset } from "../limits/sign-in-guard.ts";
import { accountUnlockPlugin } from "../limits/account-unlock-endpoint.ts";
import { managedAccountCredential, managedAccountResets, ssoMailForManagedAccounts } from "../sso/managed-password.ts";

export type AuthBindings = Pick<
  AuthnEnv,
  | "DB"
  | "ORG_STATE"
  | "AUDIT_QUEUE"
  | "BETTER_AUTH_SECRET"
  | "API_AUDIENCE"
  | "MAX_REQUEST_BODY_BYTES"
  | "MAX_ORGANIZATIONS_PER_USER"
  | "MAX_SESSIONS_PER_USER"
  | "TOKEN_SERVICE"
  | "MAIL_TRANSPORT"
  | "MAIL_FROM"
  | "MAIL_API_KEY"
  | "MAIL_API_URL"
  | "EMAIL"
  | "REQUIRE_EMAIL_VERIFICATION"
  | "TRUSTED_ORIGINS"
  | "CORS_ALLOWED_ORIGINS"
  | "SESSION_IDLE_TIMEOUT_SECONDS"
  | "SESSION_ABSOLUTE_TIMEOUT_SECONDS"
  | "SESSION_FRESH_AGE_SECONDS"
  | "SSO_UPSTREAM_TIMEOUT_MS"
> & {
  ISSUER: string;
};

interface EndingSessionRow {
  id: string;
  activeOrganizationId?: string | null;
}

function createAuth(env: AuthBindings) {
  const config = authnConfig(env);
  // Ends a session through Better Auth (so its delete hooks run); bound to
  // the instance once it exists.
  let endSession: (token: string) => Promise<void> = async () => {
    throw new Error("Better Auth is not ready");
  };
  const base = baseAuthOptions(
    config.issuer,
    {
      organizationLimit: config.maxOrganizationsPerUser,
      organizationHooks: { ...membershipRevocationHooks(env), ...orgDeletionHooks(env), ...orgSlugHooks(env.DB) },
    },
    oidcRuntime(env, config),
    { upstreamTimeoutMs: config.ssoUpstreamTimeoutMs },
  );
  const mail = authMailOptions(env, config);
  // Back-channel logout to the clients Better Auth's own hook leaves out (oidc/backchannel-logout.ts).
  const backchannelLogout = sessionClientsLogout(env, config.issuer);
  const auth = betterAuth({
    ...base,
    // Runtime-only plugins (no schema of their own) come after the base ones,
    // so their hooks run after the plugins they build on.
    plugins: [
      ...base.plugins,
      totpCodeClaim(env.DB),
      managedAccountResets(env.DB),
      signUpBindingPlugin(config),
      orgSlugCheck(env.DB),
      accountUnlockPlugin(env, config),
      // A handed-over grant is checked as sent to the issuer's endpoint (oidc/addressed-request.ts).
      addressedRequestPlugin,
      // A consent request is answered once, after the provider checked its signature (oidc/consent-claim.ts).
      consentAnsweredOnce(env.DB),
      // An allow is for the org its page showed, still the session's active org, checked as the
      // token endpoint checks its code (oidc/consent-org.ts).
      consentNeedsActiveOrg(env.DB, config.betterAuthSecret),
    ],
    trustedOrigins: config.trustedOrigins,
    emailAndPassword: {
      ...base.emailAndPassword,
      ...mail.emailAndPassword,
      // A directory- or SSO-managed person gets no reset link (sso/managed-password.ts).
      sendResetPassword: ssoMailForManagedAccounts(env, config, mail.emailAndPassword.sendResetPassword),
      onPasswordReset: async (data, request) => {
        await revokeOnPasswordReset(env.DB)(data, request);
        // The consecutive-failure lockout ends with a reset, and only so (limits/sign-in-throttle.ts).
        await clearOnPasswordReset(env.DB, config.betterAuthSecret, data.user.email);
      },
    },
    emailVerification: {
      ...mail.emailVerification,
      // A click verifies only for whoever chose the password (security/sign-up-binding.ts).
      beforeEmailVerification: requireSignUpBrowserOrPassword(env.DB, config),
    },
    user: { changeEmail: mail.changeEmail },
    session: betterAuthSessionOptions(config.sessions),
    advanced: {
      ...base.advanced,
      // Mail goes out after the answer: a sign-up, reset request or resend
      // for an address with an account then takes as long as one without.
      backgroundTasks: { handler: waitUntil },
      // Related rows in the same query (drizzle's relational queries over the
      // relations in shared/db/auth-schema.ts) instead of one query per
      // table: a password sign-in reads the person and their credential
      // account in one D1 round trip instead of two.
      database: { joins: true },
    },
    secret: config.betterAuthSecret,
    database: refusingBannedSessions(drizzleAdapter(drizzle(env.DB, { schema }), { provider: "sqlite", schema })),
    hooks: revocationEndpointHooks(env),
    databaseHooks: {
      session: {
        create: {
          before: sessionStartHook(env, config.maxSessionsPerUser, (token) => endSession(token)),
        },
        // Every session end revokes the session's tokens in every org it
        // minted for: revocation/session-revocation.ts has the design.
        update: { after: clampToAbsoluteTimeout(env, config.sessions) },
        delete: {
          before: async (session, context) => {
            const reason = revocationReason("session-ended", context?.path);
            // The session this very request started and now discards (the
            // two-factor plugin deletes a password sign-in's session before
            // answering with its challenge) never left the Worker: no token
            // can name it, so its active org gets no revocation (an org
            // Durable Object call and an audit event per 2FA sign-in). Its
            // `session_org` rows, which cannot exist, are still read.
            const started = context?.context.newSession?.session.id === (session as EndingSessionRow).id;
            await revokeSessionEverywhere(env, session as EndingSessionRow, reason, !started);
            // Nor was any client signed a token of it: no one to tell by back-channel logout.
            if (!started) await backchannelLogout.before(session, context);
          },
          after: async (session, context) => {
            const reason = revocationReason("session-ended", context?.path);
            // The session is gone whatever the revocation's fate: its clients are told either way.
            await backchannelLogout.after(session, context);
            await revokeSessionEverywhere(env, session as EndingSessionRow, reason, false);
          },
        },
      },
      // A directory-managed account links only its own org's SSO (sso/directory-accounts.ts).
      // …and a reset never gives a managed person a password (sso/managed-password.ts).
      account: {
        create: {
          before: async (account, context) => {
            await managedAccountCredential(env.DB)(account, context);
            return directoryAccountLinks(env.DB)(account, context);
          },
        },
      },
      user: {
        delete: {
          // The user's memberships go with the row (foreign keys), without
          // the organization hooks: cut off their tokens in each org first.
          before: async (user, context) => {
            await revokeUserEverywhere(env, user.id, revocationReason("user-deleted", context?.path));
          },
        },
      },
    },
  });
  endSession = async (token) => {
    await (await auth.$context).internalAdapter.deleteSession(token);
  };
  // Each session-ending call counts toward its request's back-channel logout
  // outbox, which is sent once they have all settled (oidc/logout-outbox.ts).
  // Registered now, ahead of any request's wait for the set-up (authReady),
  // so no endpoint runs before it; a failed set-up is authReady's to report.
  auth.$context.then(
    (context) => countSessionEnds(context.internalAdapter),
    () => undefined,
  );
  auth.handler = routedOncePerIsolate(auth);
  return auth;
}

/**
 * Better Auth's `auth.handler` builds its router on every request
 * (better-auth/dist/auth/base.mjs): every endpoint of every plugin wrapped,
 * checked for conflicts and added to a route tree, and the garbage of it
 * collected. In a V8 profile of this Worker that was about 40% of the CPU
 * of a request that does little else (`GET /api/auth/ok`). Nothing in that
 * router depends on the request when the base URL, the trusted origins and
 * the trusted providers are fixed (options.ts, config.ts: they are), so it
 * is built once per isolate over the same context, and each request runs
 * through it as Better Auth runs it (`runWithAdapter`, so hooks queued after
 * a write still run). Per-request state still starts fresh: better-call
 * copies the router's context for every request, and Better Auth's dispatch
 * copies it again for every endpoint call.
 */
function routedOncePerIsolate(auth: {
  $context: Promise<unknown>;
  options: unknown;
}): (request: Request) => Promise<Response> {
  type RouterArgs = Parameters<typeof router>;
  let handle: ((request: Request) => Promise<Response>) | undefined;
  return async (request) => {
    const context = (await auth.$context) as RouterArgs[0];
    if (!handle) {
      const { handler } = router(context, auth.options as RouterArgs[1]);
      handle = async (incoming) => await runWithAdapter(context.adapter, () => handler(incoming));
    }
    return handle(request);
  };
}

export type Auth = ReturnType<typeof createAuth>;

/** One Better Auth instance per env object (per isolate): building it is not free. */
const instances = new WeakMap<AuthBindings, Auth>();

export function getAuth(env: AuthBindings): Auth {
  let auth = instances.get(env);
  if (!auth) {
    auth = createAuth(env);
    instances.set(env, auth);
  }
  return auth;
}

/**
 * Every request waits until the isolate's Better Auth instance has finished
 * its asynchronous set-up (`$context`). The instance is shared by the
 * isolate's requests, and workerd settles a promise only inside the request
 * that created it: a request that built the instance and returned without
 * awaiting it (a refused form post) would leave its set-up pending forever,
 * and every later request awaiting it would fail. Awaited here, it settles
 * in the request that started it; afterwards this is an already-settled
 * promise.
 */
export const authReady: MiddlewareHandler<{ Bindings: AuthnEnv }> = async (c, next) => {
  await getAuth(c.env).$context;
  await next();
};
