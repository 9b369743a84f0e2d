/**
 * One way to send mail, whatever carries it (email/mail-sender.ts picks the
 * transport from config). A message says what it is for (`kind`) so the dev
 * mailbox and the audit can tell them apart without reading the text.
 */
export type MailKind =
  | "verify-email"
  | "change-email"
  | "reset-password"
  | "account-exists"
  | "unlock-sign-in"
  | "unlock-account"
  | "sso-sign-in";

export interface MailMessage {
  to: string;
  kind: MailKind;
  subject: string;
  /** Plain text only: no HTML, no tracking, and never more than the one link the reader needs. */
  text: string;
}

export interface MailSender {
  send(message: MailMessage): Promise<void>;
}

/** A transport refused or could not take the message. The cause is logged, never returned to a client. */
export class MailNotSentError extends Error {
  constructor(
    readonly transport: string,
    readonly status?: number,
  ) {
    super(`mail not sent (${transport}${status ? `, status ${status}` : ""})`);
    this.name = "MailNotSentError";
  }
}
