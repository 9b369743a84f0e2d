import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { adminCall, orgPath, type Problem } from "./admin-call.ts";
import { ConsoleLayout, Notice, ProblemNotice } from "./console-layout.tsx";
import { formFields } from "./form.ts";
import { lineDiff } from "./line-diff.ts";
import type { ConsoleContext } from "./types.ts";

interface Version {
  version: number;
  status: string;
  current: boolean;
  test_count: number;
  created_by: string;
  created_at: string;
  published_at: string | null;
}
interface Current {
  version: number | null;
  source: string;
  document: unknown;
}

interface PolicyPageOnce {
  notice?: string;
  problem?: Problem;
  /** The editor's text, kept after a validation or a refused save. */
  draft?: string;
  tests?: string;
  whatIfRequest?: string;
  decision?: unknown;
}

const policiesUrl = (org: string) => `${ENDPOINT.console}/orgs/${encodeURIComponent(org)}/policies`;

/**
 * GET /console/orgs/{org}/policies: the current policy, every version with
 * publish (its tests run first) and rollback, and an editor that validates
 * or saves a draft (admin API: /orgs/{org}/policies, docs/policy.md).
 */
export async function policiesPage(c: ConsoleContext, once: PolicyPageOnce = {}) {
  const org = c.req.param("org") ?? "";
  const base = `${orgPath(org)}/policies`;
  const [current, versions] = await Promise.all([
    adminCall<Current>(c, "GET", `${base}/current`),
    adminCall<{ versions: Version[] }>(c, "GET", base),
  ]);
  const shown = current.ok ? JSON.stringify(current.body.document, null, 2) : "";
  const url = policiesUrl(org);
  return c.html(
    <ConsoleLayout title="Policies" nonce={c.var.nonce} caller={c.var.caller}>
      <p>
        <a href={`${ENDPOINT.console}/orgs/${encodeURIComponent(org)}`}>Back to the organization</a>
      </p>
      <Notice text={once.notice} />
      <ProblemNotice problem={once.problem ?? (current.ok ? undefined : current.problem)} />
      <h2>
        Current:{" "}
        <span data-testid="current-version">
          {current.ok
            ? current.body.version === null
              ? "the default policy"
              : `version ${current.body.version}`
            : "?"}
        </span>
      </h2>
      <pre data-testid="current-document">{shown}</pre>
      <h2>Versions</h2>
      <table data-testid="policy-versions">
        <thead>
          <tr>
            <th>Version</th>
            <th>Status</th>
            <th>Tests</th>
            <th>Created</th>
            <th>Published</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(versions.ok ? versions.body.versions : []).map((v) => (
            <tr data-testid="policy-version-row">
              <td>
                {v.version}
                {v.current ? " (current)" : ""}
              </td>
              <td>{v.status}</td>
              <td>{v.test_count}</td>
              <td>{v.created_at}</td>
              <td>{v.published_at ?? "-"}</td>
              <td>
                <form method="post" class="inline" action={`${url}/${v.version}/test`}>
                  <button type="submit" class="secondary">
                    Test
                  </button>
                </form>{" "}
                {v.current ? null : v.published_at === null ? (
                  <form method="post" class="inline" action={`${url}/${v.version}/publish`}>
                    <button type="submit">Publish</button>
                  </form>
                ) : (
                  <a href={`${url}/${v.version}/rollback`} data-testid="rollback-link">
                    Roll back to it…
                  </a>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Edit</h2>
      <form method="post" action={url}>
        <label>
          Policy document (JSON)
          <textarea name="document" spellcheck={false}>
            {once.draft ?? shown}
          </textarea>
        </label>
        <label>
          Test cases (JSON array; publishing runs them)
          <textarea name="tests" spellcheck={false}>
            {once.tests ?? "[]"}
          </textarea>
        </label>
        <p>
          <button type="submit" name="action" value="validate" class="secondary">
            Validate
          </button>{" "}
          <button type="submit" name="action" value="save">
            Save as a draft
          </button>
        </p>
      </form>
      <h2>What if</h2>
      <form method="post" action={`${url}/what-if`}>
        <label>
          Decision request (JSON): what the current policy decides for it
          <textarea name="request" spellcheck={false}>
            {once.whatIfRequest ?? JSON.stringify(EXAMPLE_REQUEST, null, 2)}
          </textarea>
        </label>
        <p>
          <button type="submit" class="secondary">
            What if
          </button>
        </p>
      </form>
      {once.decision ? <pre data-testid="what-if-decision">{JSON.stringify(once.decision, null, 2)}</pre> : null}
    </ConsoleLayout>,
  );
}

/** A decision request to start from (docs/policy.md): a member reading documents. */
const EXAMPLE_REQUEST = {
  subject: { id: "user-1", org_id: "org-1", roles: ["member"], scope: ["documents:read"] },
  resource: { type: "documents" },
  action: "read",
  context: { method: "GET", path: "/api/documents" },
};

/** POST /console/orgs/{org}/policies/what-if: the current policy's full decision for a request. */
export async function whatIf(c: ConsoleContext) {
  const org = c.req.param("org") ?? "";
  const text = formFields(c).get("request") ?? "";
  let request: unknown;
  try {
    request = JSON.parse(text);
  } catch {
    c.set("refusal", 400);
    return policiesPage(c, {
      whatIfRequest: text,
      problem: { status: 400, code: "invalid_body", title: "Invalid request", detail: "the request is not JSON" },
    });
  }
  const answer = await adminCall<{ decision: unknown }>(c, "POST", `${orgPath(org)}/policies/what-if`, { request });
  if (!answer.ok) return policiesPage(c, { whatIfRequest: text, problem: answer.problem });
  return policiesPage(c, { whatIfRequest: text, decision: answer.body.decision });
}

/** POST /console/orgs/{org}/policies/{version}/test: the stored version's own tests, run. */
export async function testVersion(c: ConsoleContext) {
  const org = c.req.param("org") ?? "";
  const version = c.req.param("version") ?? "";
  const run = await adminCall<{ total: number; passed: boolean; failed: number }>(
    c,
    "POST",
    `${orgPath(org)}/policies/${encodeURIComponent(version)}/test`,
  );
  if (!run.ok) return policiesPage(c, { problem: run.problem });
  return policiesPage(c, {
    notice: `Version ${version}: ${run.body.total - run.body.failed} of ${run.body.total} test(s) passed${run.body.failed ? `, ${run.body.failed} failed` : ""}.`,
  });
}

/**
 * GET /console/orgs/{org}/policies/{version}/rollback: what rolling back
 * changes (a line diff of the current document against that version's),
 * and the button that does it.
 */
export async function rollbackPreview(c: ConsoleContext) {
  const org = c.req.param("org") ?? "";
  const version = c.req.param("version") ?? "";
  const base = `${orgPath(org)}/policies`;
  const [current, target] = await Promise.all([
    adminCall<Current>(c, "GET", `${base}/current`),
    adminCall<{ version: number; document: unknown }>(c, "GET", `${base}/${encodeURIComponent(version)}`),
  ]);
  const failed = !current.ok ? current.problem : !target.ok ? target.problem : undefined;
  const diff =
    current.ok && target.ok
      ? lineDiff(JSON.stringify(current.body.document, null, 2), JSON.stringify(target.body.document, null, 2))
      : [];
  const from = current.ok
    ? current.body.version === null
      ? "the default policy"
      : `version ${current.body.version}`
    : "?";
  return c.html(
    <ConsoleLayout title={`Roll back to version ${version}`} nonce={c.var.nonce} caller={c.var.caller}>
      <p>
        <a href={policiesUrl(org)}>Back to the policies</a>
      </p>
      <ProblemNotice problem={failed} />
      <p>
        From {from} to version {version}: lines marked − go, lines marked + come.
      </p>
      <pre data-testid="rollback-diff">
        {diff.map((line) => (
          <span class={line.kind === "removed" ? "error" : line.kind === "added" ? "ok" : ""} data-kind={line.kind}>
            {`${line.kind === "removed" ? "−" : line.kind === "added" ? "+" : " "} ${line.text}\n`}
          </span>
        ))}
      </pre>
      <form method="post" action={`${policiesUrl(org)}/${encodeURIComponent(version)}/rollback`}>
        <button type="submit">Roll back</button>
      </form>
    </ConsoleLayout>,
  );
}

/** POST /console/orgs/{org}/policies: validate the editor's document, or save it as a draft. */
export async function submitPolicy(c: ConsoleContext) {
  const form = formFields(c);
  const org = c.req.param("org") ?? "";
  const text = form.get("document") ?? "";
  const testsText = form.get("tests") || "[]";
  const kept = { draft: text, tests: testsText };
  let document: unknown;
  let tests: unknown;
  try {
    document = JSON.parse(text);
    tests = JSON.parse(testsText);
  } catch {
    c.set("refusal", 400);
    return policiesPage(c, {
      ...kept,
      problem: {
        status: 400,
        code: "invalid_body",
        title: "Invalid request",
        detail: "the document or the tests are not JSON",
      },
    });
  }
  const base = `${orgPath(org)}/policies`;
  if (form.get("action") === "save") {
    const saved = await adminCall<Version>(c, "POST", base, { document, tests });
    if (!saved.ok) return policiesPage(c, { ...kept, problem: saved.problem });
    return policiesPage(c, { notice: `Saved as draft version ${saved.body.version}.` });
  }
  const checked = await adminCall<{ rule_count: number; test_count: number }>(c, "POST", `${base}/validate`, {
    document,
    tests,
  });
  if (!checked.ok) return policiesPage(c, { ...kept, problem: checked.problem });
  return policiesPage(c, {
    ...kept,
    notice: `Valid: ${checked.body.rule_count} rule(s), ${checked.body.test_count} test(s).`,
  });
}

/** POST /console/orgs/{org}/policies/{version}/publish|rollback. */
export function changeCurrent(action: "publish" | "rollback") {
  return async (c: ConsoleContext) => {
    const org = c.req.param("org") ?? "";
    const version = c.req.param("version") ?? "";
    const done = await adminCall<{ version: number; previous_version: number | null }>(
      c,
      "POST",
      `${orgPath(org)}/policies/${encodeURIComponent(version)}/${action}`,
    );
    if (!done.ok) return policiesPage(c, { problem: done.problem });
    const was = done.body.previous_version === null ? "the default policy" : `version ${done.body.previous_version}`;
    return policiesPage(c, {
      notice: `Version ${done.body.version} is current (${action === "publish" ? "published" : "rolled back"}; was ${was}).`,
    });
  };
}
