import { desc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { devMail } from "../../../../shared/db/schema.ts";
import type { MailMessage, MailSender } from "./message.ts";

/**
 * The local transport: mail is kept in D1 (`dev_mail`, strongly consistent,
 * so a test or a developer reads a message as soon as its request is done)
 * and read back at ENDPOINT.devMailbox (pages/dev-mailbox.tsx), which serves
 * it only on a loopback issuer (email/dev-mailbox-access.ts).
 */
export function devMailboxSender(db: D1Database): MailSender {
  return {
    async send(message: MailMessage) {
      await drizzle(db).insert(devMail).values({
        id: crypto.randomUUID(),
        recipient: message.to.toLowerCase(),
        subject: message.subject,
        text: message.text,
        kind: message.kind,
        createdAt: new Date(),
      });
    },
  };
}

export interface StoredMail {
  id: string;
  to: string;
  kind: string;
  subject: string;
  text: string;
  created_at: string;
}

/** The newest messages first, for one recipient or for everyone. */
export async function readDevMailbox(db: D1Database, recipient: string | undefined, limit = 50): Promise<StoredMail[]> {
  const query = drizzle(db).select().from(devMail);
  const rows = await (recipient ? query.where(eq(devMail.recipient, recipient.toLowerCase())) : query)
    .orderBy(desc(devMail.createdAt))
    .limit(limit)
    .all();
  return rows.map((row) => ({
    id: row.id,
    to: row.recipient,
    kind: row.kind,
    subject: row.subject,
    text: row.text,
    created_at: row.createdAt.toISOString(),
  }));
}
