import type { BetterAuthPlugin } from "better-auth";
import { createAuthEndpoint } from "better-auth/api";
import * as z from "zod";
import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import type { AuthnConfig } from "../config.ts";
import { pageLink } from "../email/auth-mail.ts";
import { type MailEnv, mailSender } from "../email/mail-sender.ts";
import { unlockAccountMessage } from "../email/templates.ts";
import { ACCOUNT_UNLOCK_TTL_SECONDS, unlockMailFor } from "./account-unlock.ts";

/** Better Auth's path of the request (below /api/auth), limited in limits/limited-endpoints.ts. */
export const REQUEST_ACCOUNT_UNLOCK = "/request-account-unlock";

/** The one answer to every request, whoever has the address. */
export const UNLOCK_REQUESTED =
  "If an account uses that address and failed sign-ins locked or slowed it, we have emailed it a link to unlock it. The link works once, for 15 minutes.";

/**
 * `POST /api/auth/request-account-unlock {email}` → `{status: true, message}`
 * for every well-formed address (Better Auth's body check refuses the rest,
 * which says nothing about accounts): the same answer and the same work
 * before it whether or not an account exists, is locked or was just mailed.
 * Everything that depends on the account runs after the answer
 * (`runInBackground`: the Worker's waitUntil, as the reset mail does), and
 * a failure there is logged, never shown. The /unlock-sign-in page asks
 * through the same endpoint.
 */
export function accountUnlockPlugin(env: MailEnv, config: AuthnConfig) {
  return {
    id: "mono-account-unlock",
    endpoints: {
      requestAccountUnlock: createAuthEndpoint(
        REQUEST_ACCOUNT_UNLOCK,
        { method: "POST", body: z.object({ email: z.email() }) },
        async (ctx) => {
          ctx.context.runInBackground(mailAccountUnlock(env, config, ctx.body.email));
          return ctx.json({ status: true, message: UNLOCK_REQUESTED });
        },
      ),
    },
  } satisfies BetterAuthPlugin;
}

async function mailAccountUnlock(env: MailEnv, config: AuthnConfig, email: string): Promise<void> {
  try {
    const mail = await unlockMailFor(env.DB, config.betterAuthSecret, email);
    if (!mail) return;
    const link = pageLink(config, ENDPOINT.unlockSignIn, mail.token);
    await mailSender(env, config).send(unlockAccountMessage(mail.to, link, ACCOUNT_UNLOCK_TTL_SECONDS / 60));
  } catch (error) {
    console.error("unlock mail not sent", error instanceof Error ? error.message : "unknown");
  }
}
