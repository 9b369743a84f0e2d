import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { adminCall, adminFetch, orgPath, type Problem } from "./admin-call.ts";
import { ConsoleLayout, Notice, ProblemNotice } from "./console-layout.tsx";
import { formFields } from "./form.ts";
import type { ConsoleContext } from "./types.ts";

interface RevocationEvent {
  seq: number;
  kind: string;
  value: string;
  reason?: string;
  at?: number;
}
type Changes =
  | { kind: "changes"; version: number; events: RevocationEvent[]; more: boolean }
  | { kind: "resync"; version: number };

/**
 * Appends each event of the live stream (text/event-stream, served by the
 * org's Durable Object through the admin API) as a row. Values go in with
 * textContent, never as markup.
 */
const LIVE_SCRIPT = `
const cfg = JSON.parse(document.getElementById("live-cfg").textContent);
const rows = document.getElementById("revocation-rows");
const status = document.getElementById("live-status");
const source = new EventSource(cfg.stream);
source.addEventListener("open", () => { status.textContent = "live"; status.dataset.state = "live"; });
source.addEventListener("error", () => { status.textContent = "reconnecting…"; status.dataset.state = "down"; });
function add(event) {
  const tr = document.createElement("tr");
  tr.dataset.testid = "revocation-row";
  for (const value of [event.seq, event.kind, event.value, event.reason || ""]) {
    const td = document.createElement("td");
    td.textContent = String(value);
    tr.append(td);
  }
  rows.prepend(tr);
}
// The org's object names its events "revocation" (and "resync" when the log was pruned).
source.addEventListener("revocation", (message) => add(JSON.parse(message.data)));
source.addEventListener("resync", () => location.reload());
`;

const revocationsUrl = (org: string) => `${ENDPOINT.console}/orgs/${encodeURIComponent(org)}/revocations`;

/** GET /console/orgs/{org}/revocations: the org's revocation events, newest first, live; and a revoke form. */
export async function revocationsPage(c: ConsoleContext, once: { notice?: string; problem?: Problem } = {}) {
  const org = c.req.param("org") ?? "";
  const changes = await adminCall<Changes>(c, "GET", `${orgPath(org)}/revocations?after=0`);
  const events = changes.ok && changes.body.kind === "changes" ? [...changes.body.events].reverse() : [];
  const last = changes.ok ? changes.body.version : 0;
  const url = revocationsUrl(org);
  return c.html(
    <ConsoleLayout title="Revocations" nonce={c.var.nonce} caller={c.var.caller}>
      <p>
        <a href={`${ENDPOINT.console}/orgs/${encodeURIComponent(org)}`}>Back to the organization</a> · stream:{" "}
        <span id="live-status" data-testid="live-status" data-state="connecting">
          connecting…
        </span>
      </p>
      <Notice text={once.notice} />
      <ProblemNotice problem={once.problem ?? (changes.ok ? undefined : changes.problem)} />
      <form method="post" action={url} class="row">
        <label>
          Kind
          <select name="kind">
            {["jti", "session", "subject", "client", "org"].map((k) => (
              <option value={k}>{k}</option>
            ))}
          </select>
        </label>
        <label>
          Value
          <input name="value" maxlength={256} />
        </label>
        <label>
          Reason
          <input name="reason" maxlength={200} value="operator" />
        </label>
        <button type="submit">Revoke</button>
      </form>
      <table>
        <thead>
          <tr>
            <th>Seq</th>
            <th>Kind</th>
            <th>Value</th>
            <th>Reason</th>
          </tr>
        </thead>
        <tbody id="revocation-rows">
          {events.map((e) => (
            <tr data-testid="revocation-row">
              <td>{e.seq}</td>
              <td>{e.kind}</td>
              <td>{e.value}</td>
              <td>{e.reason ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <script
        type="application/json"
        id="live-cfg"
        // JSON in a script element: `<` escaped so no value can close the element.
        dangerouslySetInnerHTML={{
          __html: JSON.stringify({ stream: `${url}/stream?after=${last}` }).replaceAll("<", "\\u003c"),
        }}
      />
      <script nonce={c.var.nonce} dangerouslySetInnerHTML={{ __html: LIVE_SCRIPT }} />
    </ConsoleLayout>,
  );
}

/** POST /console/orgs/{org}/revocations: recorded in the org's Durable Object before the page says so. */
export async function revoke(c: ConsoleContext) {
  const form = formFields(c);
  const org = c.req.param("org") ?? "";
  const kind = form.get("kind") ?? "";
  const value = form.get("value") || undefined;
  const recorded = await adminCall<{ seq: number }>(c, "POST", `${orgPath(org)}/revocations`, {
    kind,
    ...(value === undefined || kind === "org" ? {} : { value }),
    reason: form.get("reason") || "operator",
  });
  if (!recorded.ok) return revocationsPage(c, { problem: recorded.problem });
  return revocationsPage(c, { notice: `Revoked (seq ${recorded.body.seq}).` });
}

/** GET /console/orgs/{org}/revocations/stream: the admin API's event stream, passed through for EventSource. */
export async function revocationStream(c: ConsoleContext) {
  const org = c.req.param("org") ?? "";
  // EventSource reconnects with Last-Event-ID, the last seq it received: resuming from it, not from the
  // page's `after`, adds no row twice (the org's object ends a subscription with its credential, and the
  // console's is checked again every minute: docs/revocation.md).
  const after = [c.req.header("last-event-id"), c.req.query("after")].find((v) => /^\d{1,15}$/.test(v ?? "")) ?? "0";
  const response = await adminFetch(
    c,
    c.var.caller.sessionToken,
    "GET",
    `${orgPath(org)}/revocations/stream?after=${after}`,
    undefined,
    { Accept: "text/event-stream" },
  ).catch(() => undefined);
  // EventSource retries on its own; a refusal or an unreachable API is passed on as a status, no body.
  if (!response?.ok || response.body === null) {
    return new Response(null, { status: response && !response.ok ? response.status : 503 });
  }
  return new Response(response.body, {
    headers: { "Content-Type": "text/event-stream", "Cache-Control": "no-store" },
  });
}
