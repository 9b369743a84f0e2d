import type { AuthnConfig } from "../config.ts";
import { cloudflareMailSender } from "./cloudflare-sender.ts";
import { devMailboxSender } from "./dev-mailbox.ts";
import { httpMailSender } from "./http-sender.ts";
import type { MailSender } from "./message.ts";

export type MailEnv = { DB: D1Database; MAIL_API_KEY?: string; EMAIL?: SendEmail };

/** The one sender for this deployment, chosen by MAIL_TRANSPORT (config.ts). */
export function mailSender(env: MailEnv, config: Pick<AuthnConfig, "mail">): MailSender {
  const mail = config.mail;
  if (mail.transport === "dev-mailbox") return devMailboxSender(env.DB);
  if (mail.transport === "cloudflare") {
    if (!env.EMAIL) throw new Error('MAIL_TRANSPORT "cloudflare" needs the send_email binding EMAIL');
    return cloudflareMailSender(env.EMAIL, mail.from);
  }
  if (!env.MAIL_API_KEY) throw new Error("MAIL_API_KEY must be set when MAIL_TRANSPORT is http");
  return httpMailSender({ apiUrl: mail.apiUrl, apiKey: env.MAIL_API_KEY, from: mail.from });
}
