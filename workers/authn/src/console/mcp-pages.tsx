import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { adminCall, adminListPage, orgPath, type Problem } from "./admin-call.ts";
import { ConsoleLayout, Notice, ProblemNotice } from "./console-layout.tsx";
import { formFields, listField } from "./form.ts";
import { ListTable, RowAction } from "./list-table.tsx";
import { PageLinks } from "./page-links.tsx";
import type { ConsoleContext } from "./types.ts";

interface McpServer {
  name: string;
  resource: string;
  upstream: string | { binding: string };
  tools: { name: string; sensitivity: string }[];
  owner: string;
  status: string;
  /** The vault provider (its id) whose saved token the gateway sends the server; null: none. */
  saved_connection: string | null;
  built_in: boolean;
}
interface AccessRequest {
  id: string;
  client_id: string;
  server: string;
  tools: string[];
  scopes: string[];
  on_behalf_of: string;
  reason: string | null;
  status: string;
  expires_at: string;
}
interface Grant {
  id: string;
  client_id: string;
  server: string;
  tools: string[];
  on_behalf_of: string;
  status: string;
  expires_at: string;
}

const mcpUrl = (org: string) => `${ENDPOINT.console}/orgs/${encodeURIComponent(org)}/mcp`;

/**
 * GET /console/orgs/{org}/mcp[?requests_cursor=|grants_cursor=]: the org's
 * MCP servers (admin API /orgs/{org}/mcp-servers) with a form to register
 * one, the agents' access requests to approve (as asked) or deny, and the
 * grants to revoke (/orgs/{org}/access-requests, /orgs/{org}/mcp-grants;
 * docs/mcp.md), newest first, a page of each and a link to the next.
 */
export async function mcpPage(c: ConsoleContext, once: { notice?: string; problem?: Problem } = {}) {
  const org = c.req.param("org") ?? "";
  const base = orgPath(org);
  const requestsCursor = c.req.query("requests_cursor");
  const grantsCursor = c.req.query("grants_cursor");
  const [servers, requests, grants] = await Promise.all([
    adminCall<{ servers: McpServer[] }>(c, "GET", `${base}/mcp-servers`),
    adminListPage<"access_requests", AccessRequest>(c, `${base}/access-requests`, requestsCursor),
    adminListPage<"grants", Grant>(c, `${base}/mcp-grants`, grantsCursor),
  ]);
  const url = mcpUrl(org);
  const failed = [servers, requests, grants].find((a) => !a.ok);
  return c.html(
    <ConsoleLayout title="MCP servers and access" nonce={c.var.nonce} caller={c.var.caller}>
      <p>
        <a href={`${ENDPOINT.console}/orgs/${encodeURIComponent(org)}`}>Back to the organization</a>
      </p>
      <Notice text={once.notice} />
      <ProblemNotice problem={once.problem ?? (failed && !failed.ok ? failed.problem : undefined)} />
      <h2>Servers</h2>
      <ListTable
        testId="mcp-servers"
        columns={["Name", "Resource (audience)", "Upstream", "Tools", "Owner", "Status", "Saved connection"]}
      >
        {(servers.ok ? servers.body.servers : []).map((s) => (
          <tr data-testid="mcp-server-row">
            <td>
              {s.name}
              {s.built_in ? " (built in)" : ""}
            </td>
            <td>
              <code>{s.resource}</code>
            </td>
            <td>{typeof s.upstream === "string" ? s.upstream : `binding ${s.upstream.binding}`}</td>
            <td>
              {s.tools.map((t) => (t.sensitivity === "normal" ? t.name : `${t.name} (${t.sensitivity})`)).join(", ")}
            </td>
            <td>{s.owner}</td>
            <td>{s.status}</td>
            <td>{s.saved_connection ? <code>{s.saved_connection}</code> : "-"}</td>
          </tr>
        ))}
      </ListTable>
      <h3>Register a server</h3>
      <form method="post" action={`${url}/servers`} class="row">
        <label>
          Server name
          <input name="name" required maxlength={63} pattern="[a-z][a-z0-9-]*" />
        </label>
        <label>
          Upstream URL
          <input name="upstream" required type="url" />
        </label>
        <label>
          Tools (name or name:sensitive)
          <input name="tools" required />
        </label>
        <label>
          Owner
          <input name="owner" required value={c.var.caller.email} />
        </label>
        <label>
          Saved connection (vault provider, optional)
          <input name="saved_connection" />
        </label>
        <button type="submit">Register server</button>
      </form>
      <h2>Access requests</h2>
      <ListTable testId="access-requests" columns={["Agent", "Server", "Tools", "For", "Reason", "Status", ""]}>
        {(requests.ok ? requests.body.access_requests : []).map((r) => (
          <tr data-testid="access-request-row">
            <td>
              <code>{r.client_id}</code>
            </td>
            <td>{r.server}</td>
            <td>{r.tools.join(", ")}</td>
            <td>{r.on_behalf_of}</td>
            <td>{r.reason ?? ""}</td>
            <td>{r.status}</td>
            <td>
              {r.status === "pending" ? (
                <>
                  <RowAction action={`${url}/requests/${encodeURIComponent(r.id)}/approve`} label="Approve" />{" "}
                  <RowAction action={`${url}/requests/${encodeURIComponent(r.id)}/deny`} label="Deny" secondary />
                </>
              ) : null}
            </td>
          </tr>
        ))}
      </ListTable>
      <PageLinks
        url={url}
        param="requests_cursor"
        cursor={requestsCursor}
        next={requests.ok ? requests.body.next_cursor : null}
        testId="access-requests-pages"
      />
      <h2>Grants</h2>
      <ListTable testId="mcp-grants" columns={["Agent", "Server", "Tools", "For", "Status", "Expires", ""]}>
        {(grants.ok ? grants.body.grants : []).map((g) => (
          <tr data-testid="mcp-grant-row">
            <td>
              <code>{g.client_id}</code>
            </td>
            <td>{g.server}</td>
            <td>{g.tools.join(", ")}</td>
            <td>{g.on_behalf_of}</td>
            <td>{g.status}</td>
            <td>{g.expires_at}</td>
            <td>
              {g.status === "active" ? (
                <RowAction action={`${url}/grants/${encodeURIComponent(g.id)}/revoke`} label="Revoke" secondary />
              ) : null}
            </td>
          </tr>
        ))}
      </ListTable>
      <PageLinks
        url={url}
        param="grants_cursor"
        cursor={grantsCursor}
        next={grants.ok ? grants.body.next_cursor : null}
        testId="mcp-grants-pages"
      />
    </ConsoleLayout>,
  );
}

/** POST /console/orgs/{org}/mcp/servers: `tools` as `name` or `name:sensitivity`, space- or comma-separated. */
export async function registerServer(c: ConsoleContext) {
  const form = formFields(c);
  const org = c.req.param("org") ?? "";
  const tools = listField(form, "tools").map((entry) => {
    const [name, sensitivity] = entry.split(":");
    return { name: name ?? "", ...(sensitivity ? { sensitivity } : {}) };
  });
  const created = await adminCall<McpServer>(c, "POST", `${orgPath(org)}/mcp-servers`, {
    name: form.get("name") ?? "",
    upstream: form.get("upstream") ?? "",
    tools,
    owner: form.get("owner") ?? "",
    ...(form.get("saved_connection") ? { saved_connection: form.get("saved_connection") } : {}),
  });
  if (!created.ok) return mcpPage(c, { problem: created.problem });
  return mcpPage(c, { notice: `Registered ${created.body.name}: agents connect to ${created.body.resource}.` });
}

/** POST …/mcp/requests/{id}/approve|deny: approve as asked, or deny. */
export function decideRequest(decision: "approve" | "deny") {
  return async (c: ConsoleContext) => {
    const org = c.req.param("org") ?? "";
    const id = c.req.param("id") ?? "";
    const done = await adminCall(
      c,
      "POST",
      `${orgPath(org)}/access-requests/${encodeURIComponent(id)}/${decision}`,
      {},
    );
    if (!done.ok) return mcpPage(c, { problem: done.problem });
    return mcpPage(c, { notice: decision === "approve" ? "Approved: a grant was created." : "Denied." });
  };
}

/** POST …/mcp/grants/{id}/revoke: recorded as a revocation event before the page says so. */
export async function revokeGrant(c: ConsoleContext) {
  const org = c.req.param("org") ?? "";
  const id = c.req.param("id") ?? "";
  const done = await adminCall(c, "DELETE", `${orgPath(org)}/mcp-grants/${encodeURIComponent(id)}`);
  if (!done.ok) return mcpPage(c, { problem: done.problem });
  return mcpPage(c, { notice: "Grant revoked." });
}
