import { httpErrorResponse } from "../../../../shared/errors/http.ts";
import { authnConfig } from "../config.ts";
import { readDevMailbox, type StoredMail } from "../email/dev-mailbox.ts";
import { devMailboxReadable } from "../email/dev-mailbox-access.ts";
import type { FlowContext } from "./flow-kit.tsx";
import { Layout } from "./layout.tsx";

/**
 * ENDPOINT.devMailbox: the local mailbox (email/dev-mailbox.ts), newest
 * first, optionally for one recipient (`?to=`), as a page or as JSON
 * (`?format=json`: `{"messages":[{id,to,kind,subject,text,created_at}]}`).
 * Anywhere it is not readable (email/dev-mailbox-access.ts) it does not
 * exist: 404 like any unknown path.
 */
const LINK = /https?:\/\/\S+/g;

export async function devMailbox(c: FlowContext) {
  const config = authnConfig(c.env);
  if (!devMailboxReadable(config)) return httpErrorResponse("not_found", "no such page");
  const to = c.req.query("to") || undefined;
  const messages = await readDevMailbox(c.env.DB, to);
  if (c.req.query("format") === "json") {
    return c.json({ messages }, 200, { "Cache-Control": "no-store" });
  }
  return c.html(
    <Layout title="Dev mailbox" nonce={c.var.nonce}>
      <h1>Dev mailbox</h1>
      <p class="muted">Local development only: mail the authn Worker sent{to ? ` to ${to}` : ""}, newest first.</p>
      {messages.length === 0 ? <p>No mail yet.</p> : null}
      {messages.map((message) => (
        <Message message={message} />
      ))}
    </Layout>,
  );
}

function Message(props: { message: StoredMail }) {
  const { message } = props;
  return (
    <article data-testid="mail" data-kind={message.kind}>
      <h2>{message.subject}</h2>
      <p class="muted">
        To {message.to} · {message.created_at}
      </p>
      <pre>{message.text}</pre>
      {[...message.text.matchAll(LINK)].map(([link]) => (
        <p>
          <a href={link} data-testid="mail-link">
            Open the link
          </a>
        </p>
      ))}
    </article>
  );
}
