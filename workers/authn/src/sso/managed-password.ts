/**
 * A directory- or SSO-managed account gets no local password by reset.
 *
 * "Managed" is read from the data model, one query: the person has no
 * `credential` account (no password of their own) and either the org's
 * directory provisioned them (a `scim_user` row) or an org's SSO provider
 * created or linked them (an `account` whose `provider_id` is a registered
 * `sso_provider.provider_id`). Such a person signs in through their org's
 * IdP and its MFA; a password set through a reset link would let whoever
 * reads the mailbox skip both, which Okta, Keycloak and Cloudflare Access
 * never allow for federated users. A person who had their own password
 * before linking SSO keeps it (and its reset): they chose it, and taking it
 * away would lock them out of an account that was theirs first. A social
 * identity (GitHub, Google, Microsoft) is not an org's: it does not make an
 * account managed. An account whose SSO provider was deleted is no longer
 * managed by SSO (the org stopped signing it in), so a reset hands it back.
 *
 * - The reset request answers as for any address (Better Auth writes the
 *   token and queues the mail exactly as for a normal account, so status,
 *   body and work match); the mail, sent after the answer, carries no link
 *   but the SSO sign-in page, and the token it would have carried is deleted.
 * - `POST /reset-password` refuses a token of a managed account, one issued
 *   before this rule included: `403 PASSWORD_MANAGED_BY_SSO`, and the token
 *   is spent. The same check runs where Better Auth writes the `credential`
 *   account, so an account that became managed while the reset ran gets no
 *   password either.
 */
import type { BetterAuthOptions, BetterAuthPlugin } from "better-auth";
import { APIError, createAuthMiddleware } from "better-auth/api";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import type { AuthnConfig } from "../config.ts";
import { type MailEnv, mailSender } from "../email/mail-sender.ts";
import { ssoSignInMessage } from "../email/templates.ts";
import { bodyText } from "../http/body-text.ts";

/** The reset of a managed account's password is refused with this code. */
export const PASSWORD_MANAGED_BY_SSO = "PASSWORD_MANAGED_BY_SSO";

const RESET_PASSWORD = "/reset-password";
const REQUEST_PASSWORD_RESET = "/request-password-reset";
/** Better Auth's own provider id for the email-and-password account. */
const CREDENTIAL_PROVIDER = "credential";
/** Better Auth's verification identifier of a reset token. */
export const resetTokenIdentifier = (token: string) => `reset-password:${token}`;

const MANAGED = `NOT EXISTS (SELECT 1 FROM account WHERE user_id = u.id AND provider_id = '${CREDENTIAL_PROVIDER}')
  AND (EXISTS (SELECT 1 FROM scim_user WHERE user_id = u.id)
       OR EXISTS (SELECT 1 FROM account a JOIN sso_provider p ON p.provider_id = a.provider_id WHERE a.user_id = u.id))`;

export async function isManagedAccount(db: D1Database, userId: string): Promise<boolean> {
  const row = await db
    .prepare(`SELECT ${MANAGED} AS managed FROM user u WHERE u.id = ?`)
    .bind(userId)
    .first<{ managed: number }>();
  return row?.managed === 1;
}

/**
 * What the reset request's before hook found, by address, for the mail hook
 * of the same request to take without another query. Deciding in the
 * request keeps the mail's own work (Better Auth's D1 write and the send)
 * as it was, and every address, known or not, managed or not, pays the
 * same one read before the answer.
 */
const decided = new Map<string, boolean>();

async function decideByEmail(db: D1Database, email: string): Promise<void> {
  const row = await db
    .prepare(`SELECT u.email AS email, ${MANAGED} AS managed FROM user u WHERE u.email = ?`)
    .bind(email.toLowerCase())
    .first<{ email: string; managed: number }>();
  if (row) decided.set(row.email, row.managed === 1);
}

function refused(): APIError {
  return new APIError("FORBIDDEN", {
    code: PASSWORD_MANAGED_BY_SSO,
    message: "this account signs in through its organization's single sign-on and has no password to reset",
  });
}

/**
 * The reset request's decision (read before the answer, for every address
 * alike) and the `/reset-password` guard, before Better Auth spends the
 * token or ends any session.
 */
export function managedAccountResets(db: D1Database): BetterAuthPlugin {
  return {
    id: "mono-managed-account-resets",
    hooks: {
      before: [
        {
          matcher: (ctx) => ctx.path === REQUEST_PASSWORD_RESET,
          handler: createAuthMiddleware(async (ctx) => {
            const email = bodyText(ctx.body, "email");
            if (email) await decideByEmail(db, email);
          }),
        },
        {
          matcher: (ctx) => ctx.path === RESET_PASSWORD,
          handler: createAuthMiddleware(async (ctx) => {
            const fromBody = bodyText(ctx.body, "token");
            const token = fromBody || (typeof ctx.query?.token === "string" ? ctx.query.token : "");
            if (!token) return;
            const identifier = resetTokenIdentifier(token);
            const verification = await ctx.context.internalAdapter.findVerificationValue(identifier);
            // A missing or expired token is Better Auth's own 400 INVALID_TOKEN.
            if (!verification || verification.expiresAt < new Date()) return;
            if (!(await isManagedAccount(db, verification.value))) return;
            await ctx.context.internalAdapter.deleteVerificationByIdentifier(identifier);
            throw refused();
          }),
        },
      ],
    },
  };
}

type AccountCreateBefore = NonNullable<
  NonNullable<NonNullable<NonNullable<BetterAuthOptions["databaseHooks"]>["account"]>["create"]>["before"]
>;

/** The same rule at the write: a reset never creates the `credential` account of a managed person. */
export function managedAccountCredential(db: D1Database): AccountCreateBefore {
  return async (account, context) => {
    if (account.providerId !== CREDENTIAL_PROVIDER || context?.path !== RESET_PASSWORD) return;
    if (await isManagedAccount(db, account.userId)) throw refused();
  };
}

type SendResetPassword = NonNullable<NonNullable<BetterAuthOptions["emailAndPassword"]>["sendResetPassword"]>;

/**
 * Better Auth calls this after it answered (advanced.backgroundTasks), so
 * what it mails changes nothing in the answer: a managed person is told to
 * sign in with SSO, and the token Better Auth wrote for them is deleted.
 */
export function ssoMailForManagedAccounts(
  env: MailEnv,
  config: AuthnConfig,
  sendReset: SendResetPassword,
): SendResetPassword {
  return async (data, request) => {
    try {
      const known = decided.get(data.user.email);
      decided.delete(data.user.email);
      const managed = known ?? (await isManagedAccount(env.DB, data.user.id));
      if (!managed) return await sendReset(data, request);
      await env.DB.prepare("DELETE FROM verification WHERE identifier = ?")
        .bind(resetTokenIdentifier(data.token))
        .run();
      await mailSender(env, config).send(ssoSignInMessage(data.user.email, `${config.issuer}${ENDPOINT.signIn}`));
    } catch (error) {
      // After the answer: logged, never shown (showing it would tell who has an account).
      console.error("reset mail not sent", error instanceof Error ? error.message : "unknown");
    }
  };
}
