import { GRANT_TYPE, TOKEN_TYPE } from "../../../../shared/contracts/tokens.ts";
import { Layout } from "./layout.tsx";

export interface AppPageProps {
  nonce: string;
  user: { name: string; email: string };
  org: { id: string; name: string } | null;
  audience: string;
}

/**
 * What the page's script does, in the order a client of Mono-Auth would:
 * read the session, exchange it for an access token (RFC 8693), and call the
 * protected API through the gateway with it. Values come from the JSON
 * config block, never from string-building in the script.
 */
const SCRIPT = `
const cfg = JSON.parse(document.getElementById("cfg").textContent);
const status = document.getElementById("status");
const rows = document.getElementById("rows");
function show(text, isError) { status.textContent = text; status.className = isError ? "error" : "muted"; }
document.getElementById("load").addEventListener("click", async () => {
  rows.replaceChildren();
  try {
    show("Reading your session…");
    const session = await (await fetch("/api/auth/get-session")).json();
    if (!session) return show("Your session has ended. Sign in again.", true);
    show("Exchanging the session for an access token…");
    const exchange = await fetch("/oauth2/token", {
      method: "POST",
      body: new URLSearchParams({ grant_type: cfg.grantType, subject_token: session.session.token, subject_token_type: cfg.subjectTokenType, audience: cfg.audience, scope: cfg.scope }),
    });
    const token = await exchange.json();
    if (!exchange.ok) return show("Token refused: " + token.error + " (" + token.error_description + ")", true);
    show("Calling /api/documents through the gateway…");
    const response = await fetch("/api/documents", { headers: { Authorization: "Bearer " + token.access_token } });
    const body = await response.json();
    if (!response.ok) return show("Gateway said " + response.status + ": " + (body.error_description || body.error), true);
    for (const doc of body.documents) {
      const tr = document.createElement("tr");
      tr.dataset.testid = "document-row";
      for (const value of [doc.title, doc.classification, doc.org_id]) {
        const td = document.createElement("td");
        td.textContent = value;
        tr.append(td);
      }
      rows.append(tr);
    }
    show(body.documents.length + " document(s) the policy lets you read (as " + body.user_id + ").");
  } catch (error) {
    show("Something went wrong: " + error, true);
  }
});
`;

export function AppPage(props: AppPageProps) {
  const config = JSON.stringify({
    grantType: GRANT_TYPE.tokenExchange,
    subjectTokenType: TOKEN_TYPE.session,
    audience: props.audience,
    scope: "documents:read",
  }).replaceAll("<", "\\u003c");
  return (
    <Layout title="Your documents" nonce={props.nonce}>
      <h1>Hello, {props.user.name}</h1>
      <p class="muted">
        Signed in as <span data-testid="user-email">{props.user.email}</span>
        {props.org ? (
          <>
            {" "}
            in <strong data-testid="org-name">{props.org.name}</strong> (<code>{props.org.id}</code>)
          </>
        ) : null}
      </p>
      <p>
        <button id="load" type="button">
          Load my documents
        </button>
      </p>
      <p id="status" class="muted" role="status" data-testid="status"></p>
      <table>
        <thead>
          <tr>
            <th>Title</th>
            <th>Classification</th>
            <th>Organization</th>
          </tr>
        </thead>
        <tbody id="rows"></tbody>
      </table>
      <form method="post" action="/sign-out">
        <button class="secondary" type="submit">
          Sign out
        </button>
      </form>
      <script id="cfg" type="application/json" dangerouslySetInnerHTML={{ __html: config }} />
      <script nonce={props.nonce} dangerouslySetInnerHTML={{ __html: SCRIPT }} />
    </Layout>
  );
}
