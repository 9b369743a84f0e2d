import { type MailMessage, MailNotSentError, type MailSender } from "./message.ts";

/**
 * The Cloudflare transport: Cloudflare Email Service's `send_email` binding
 * (`[[send_email]] name = "EMAIL"` in wrangler.toml), sending the composed
 * message without raw MIME. The sender's domain must be set up for Email
 * Service sending on the account.
 */
export function cloudflareMailSender(binding: SendEmail, from: string): MailSender {
  return {
    async send(message: MailMessage) {
      try {
        await binding.send({ from, to: message.to, subject: message.subject, text: message.text });
      } catch {
        throw new MailNotSentError("cloudflare");
      }
    },
  };
}
