import { type MailMessage, MailNotSentError, type MailSender } from "./message.ts";

/** How long one send may take before the request that caused it gives up on it. */
const SEND_TIMEOUT_MS = 10_000;

/**
 * The production transport: one JSON POST per message to an HTTP email API
 * in the shape Resend's `POST /emails` takes (`from`, `to`, `subject`,
 * `text`, bearer key); Postmark-, SendGrid- or Mailgun-style APIs are one
 * small adapter like this one away. The key is the `MAIL_API_KEY` secret and
 * never leaves this request.
 */
export function httpMailSender(options: { apiUrl: string; apiKey: string; from: string }): MailSender {
  return {
    async send(message: MailMessage) {
      let response: Response;
      try {
        response = await fetch(options.apiUrl, {
          method: "POST",
          headers: { Authorization: `Bearer ${options.apiKey}`, "Content-Type": "application/json" },
          body: JSON.stringify({ from: options.from, to: [message.to], subject: message.subject, text: message.text }),
          // A mail API that redirects is misconfigured: never follow it with the key (a 3xx is not ok below).
          // workerd refuses `redirect: "error"` outright, so it is not asked for.
          redirect: "manual",
          signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
        });
      } catch {
        throw new MailNotSentError("http");
      }
      // The body may echo the message or the key's account: read and drop it.
      await response.body?.cancel();
      if (!response.ok) throw new MailNotSentError("http", response.status);
    },
  };
}
