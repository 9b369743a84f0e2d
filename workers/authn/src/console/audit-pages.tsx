import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { adminCall, type Problem } from "./admin-call.ts";
import { ConsoleLayout, Notice, ProblemNotice } from "./console-layout.tsx";
import { formFields } from "./form.ts";
import type { ConsoleContext } from "./types.ts";

interface AuditEvent {
  id: string;
  occurred_at: string;
  seq: number | null;
  kind: string;
  outcome: string;
  subject: string | null;
  client_id: string | null;
  detail: unknown;
}
interface VerifyReport {
  ok: boolean;
  rows_checked: number;
  last_seq: number;
  last_hash: string;
  complete: boolean;
  broken: { reason: string; seq: number | null } | null;
}
interface Key {
  kid: string;
  status: string;
  created_at: string;
  retired_from_signing_at: string | null;
  retires_at: string | null;
}

/**
 * GET /console/audit?org=&verify=1: an org's (or the platform's) audit
 * trail, newest first, and its hash chain checked on request
 * (docs/audit.md). An org admin picks one of its orgs.
 */
export async function auditPage(c: ConsoleContext) {
  const caller = c.var.caller;
  const org = c.req.query("org") || (caller.platformOperator ? "platform" : (caller.orgIds[0] ?? ""));
  const chain = encodeURIComponent(org);
  const [events, verify] = await Promise.all([
    adminCall<{ events: AuditEvent[] }>(c, "GET", `/audit/events?org=${chain}&limit=100`),
    c.req.query("verify") ? adminCall<VerifyReport>(c, "GET", `/audit/verify?org=${chain}`) : undefined,
  ]);
  const report = verify?.ok ? verify.body : undefined;
  return c.html(
    <ConsoleLayout title="Audit trail" nonce={c.var.nonce} caller={caller}>
      <form method="get" action={`${ENDPOINT.console}/audit`} class="row">
        <label>
          Chain (an org id{caller.platformOperator ? ", or platform" : ""})
          <input name="org" value={org} required />
        </label>
        <button type="submit" class="secondary">
          Show
        </button>
        <button type="submit" name="verify" value="1">
          Verify the chain
        </button>
      </form>
      <ProblemNotice problem={events.ok ? (verify && !verify.ok ? verify.problem : undefined) : events.problem} />
      {report ? (
        <p class={report.ok ? "ok" : "error"} data-testid="verify-result">
          {report.ok
            ? `Chain intact: ${report.rows_checked} row(s) checked up to seq ${report.last_seq}${report.complete ? " (complete)" : ""}. Keep ${report.last_seq}:${report.last_hash} to detect a later rewrite.`
            : `Chain BROKEN at seq ${report.broken?.seq ?? "end"}: ${report.broken?.reason}.`}
        </p>
      ) : null}
      <table data-testid="audit-events">
        <thead>
          <tr>
            <th>Seq</th>
            <th>When</th>
            <th>Kind</th>
            <th>Outcome</th>
            <th>Subject</th>
            <th>Client</th>
            <th>Detail</th>
          </tr>
        </thead>
        <tbody>
          {(events.ok ? events.body.events : []).map((e) => (
            <tr data-testid="audit-row">
              <td>{e.seq ?? "-"}</td>
              <td>{e.occurred_at}</td>
              <td>{e.kind}</td>
              <td>{e.outcome}</td>
              <td>{e.subject ?? "-"}</td>
              <td>{e.client_id ?? "-"}</td>
              <td>
                <code>{JSON.stringify(e.detail)}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </ConsoleLayout>,
  );
}

/** GET /console/keys: the signing keys (public facts only) and rotation, for platform operators. */
export async function keysPage(c: ConsoleContext, once: { notice?: string; problem?: Problem } = {}) {
  const keys = await adminCall<{ keys: Key[] }>(c, "GET", "/keys");
  return c.html(
    <ConsoleLayout title="Signing keys" nonce={c.var.nonce} caller={c.var.caller}>
      <Notice text={once.notice} />
      <ProblemNotice problem={once.problem ?? (keys.ok ? undefined : keys.problem)} />
      <table data-testid="keys">
        <thead>
          <tr>
            <th>Kid</th>
            <th>Status</th>
            <th>Created</th>
            <th>Stopped signing</th>
            <th>Leaves the JWKS</th>
          </tr>
        </thead>
        <tbody>
          {(keys.ok ? keys.body.keys : []).map((k) => (
            <tr data-testid="key-row">
              <td>
                <code>{k.kid}</code>
              </td>
              <td data-testid="key-status">{k.status}</td>
              <td>{k.created_at}</td>
              <td>{k.retired_from_signing_at ?? "-"}</td>
              <td>{k.retires_at ?? "-"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <form method="post" action={`${ENDPOINT.console}/keys/rotate`} class="row">
        <label>
          <span>
            <input type="checkbox" name="emergency" value="true" /> Emergency: retire the current key now (key
            compromise)
          </span>
        </label>
        <button type="submit">Rotate</button>
      </form>
    </ConsoleLayout>,
  );
}

/** POST /console/keys/rotate: staged (409 until the next key has been published long enough) or emergency. */
export async function rotateKeys(c: ConsoleContext) {
  const emergency = formFields(c).get("emergency") === "true";
  const rotated = await adminCall<{ current: string; retired: string[] }>(c, "POST", "/keys/rotate", { emergency });
  if (!rotated.ok) return keysPage(c, { problem: rotated.problem });
  return keysPage(c, {
    notice: `Current key: ${rotated.body.current}${rotated.body.retired.length ? `; retired: ${rotated.body.retired.join(", ")}` : ""}.`,
  });
}
