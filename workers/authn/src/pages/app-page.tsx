import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { SCOPE } from "../../../../shared/contracts/scopes.ts";
import { Layout } from "./layout.tsx";

export interface AppPageProps {
  nonce: string;
  user: { name: string; email: string };
  org: { id: string; name: string } | null;
  audience: string;
}

/**
 * What the page's script does, in the order a client of Mono-Auth would: get
 * an access token for the session and call the protected API through the
 * gateway with it. The token comes from POST /app/token, which exchanges the
 * session on the server from the HttpOnly cookie: the script never holds the
 * session's own token (session-token/exchange.ts). Values come from the JSON
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
    show("Getting an access token for your session…");
    const exchange = await fetch(cfg.tokenPath, {
      method: "POST",
      body: new URLSearchParams({ audience: cfg.audience, scope: cfg.scope }),
    });
    const token = await exchange.json();
    if (exchange.status === 400 && token.error === "invalid_grant") return show("Your session has ended. Sign in again.", true);
    if (!exchange.ok) return show("Token refused: " + token.error + " (" + token.error_description + ")", true);
    show("Calling /api/documents through the gateway…");
    const response = await fetch(cfg.documentsPath, { headers: { Authorization: "Bearer " + token.access_token } });
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
    tokenPath: ENDPOINT.sessionToken,
    documentsPath: ENDPOINT.documents,
    audience: props.audience,
    scope: SCOPE.documentsRead,
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
