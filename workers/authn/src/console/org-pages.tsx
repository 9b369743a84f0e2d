import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { authnConfig } from "../config.ts";
import { type AdminAnswer, adminCall, adminListPage, orgPath, type Problem } from "./admin-call.ts";
import { ConsoleLayout, Notice, ProblemNotice } from "./console-layout.tsx";
import { formFields, listField } from "./form.ts";
import { ListTable, RowAction } from "./list-table.tsx";
import { PageLinks } from "./page-links.tsx";
import type { ConsoleContext } from "./types.ts";

interface Org {
  id: string;
  name: string;
  slug: string;
  created_at: string;
}
interface Client {
  client_id: string;
  client_secret?: string;
  client_name: string;
  client_type: string;
  token_endpoint_auth_method: string;
  scope: string;
  status: string;
  last_used_at: string | null;
}
interface Member {
  user_id: string;
  email: string;
  name: string;
  role: string;
}
interface Counts {
  mints: number;
  mint_refusals: number;
  denials: number;
  allowed: number;
  revocations: number;
}

const orgUrl = (org: string) => `${ENDPOINT.console}/orgs/${encodeURIComponent(org)}`;

/** The numbers an operator watches (admin GET /metrics, from the audit trail), last 24 hours. */
export function CountsPanel(props: { counts: AdminAnswer<Counts> }) {
  if (!props.counts.ok) return <ProblemNotice problem={props.counts.problem} />;
  const n = props.counts.body;
  const cells: [string, number, string][] = [
    ["Tokens minted", n.mints, "mints"],
    ["Mints refused", n.mint_refusals, "mint-refusals"],
    ["Gateway denials", n.denials, "denials"],
    ["Gateway allows", n.allowed, "allowed"],
    ["Revocations", n.revocations, "revocations"],
  ];
  return (
    <section>
      <h2>Last 24 hours</h2>
      <div class="counts">
        {cells.map(([label, value, id]) => (
          <div>
            <strong data-testid={`count-${id}`}>{value}</strong>
            {label}
          </div>
        ))}
      </div>
    </section>
  );
}

/** GET /console: the orgs the person reaches, a new org (platform operators), the counts. */
export async function overviewPage(c: ConsoleContext, problem?: Problem) {
  const caller = c.var.caller;
  const [orgs, counts] = await Promise.all([
    adminCall<{ orgs: Org[] }>(c, "GET", "/orgs"),
    caller.platformOperator
      ? adminCall<Counts>(c, "GET", "/metrics")
      : caller.orgIds.length === 1
        ? adminCall<Counts>(c, "GET", `/metrics?org=${encodeURIComponent(caller.orgIds[0] ?? "")}`)
        : undefined,
  ]);
  return c.html(
    <ConsoleLayout title="Organizations" nonce={c.var.nonce} caller={caller}>
      <ProblemNotice problem={problem ?? (orgs.ok ? undefined : orgs.problem)} />
      {counts ? <CountsPanel counts={counts} /> : null}
      <ListTable testId="orgs" columns={["Name", "Slug", "Id", "Created"]}>
        {(orgs.ok ? orgs.body.orgs : []).map((org) => (
          <tr data-testid="org-row">
            <td>
              <a href={orgUrl(org.id)}>{org.name}</a>
            </td>
            <td>{org.slug}</td>
            <td>
              <code>{org.id}</code>
            </td>
            <td>{org.created_at}</td>
          </tr>
        ))}
      </ListTable>
      {caller.platformOperator ? (
        <form method="post" action={`${ENDPOINT.console}/orgs`} class="row">
          <label>
            New organization
            <input name="name" required maxlength={100} />
          </label>
          <button type="submit">Create organization</button>
        </form>
      ) : null}
    </ConsoleLayout>,
  );
}

/** POST /console/orgs → the new org's page. */
export async function createOrg(c: ConsoleContext) {
  const created = await adminCall<Org>(c, "POST", "/orgs", { name: formFields(c).get("name") ?? "" });
  if (!created.ok) return overviewPage(c, created.problem);
  return c.redirect(orgUrl(created.body.id), 303);
}

/** What a POST on the org page shows once: a secret or an invite, or what went wrong. */
interface OrgPageOnce {
  notice?: string;
  problem?: Problem;
  secret?: { label: string; value: string; testId: string };
}

/**
 * GET /console/orgs/{org}[?clients_cursor=]: the org's counts, clients (a
 * page of them, and a link to the next), members, and forms for a client
 * and an invite.
 */
export async function orgPage(c: ConsoleContext, once: OrgPageOnce = {}) {
  const org = c.req.param("org") ?? "";
  const base = orgPath(org);
  const clientsCursor = c.req.query("clients_cursor");
  const [clients, members, counts, orgs] = await Promise.all([
    adminListPage<"clients", Client>(c, `${base}/clients`, clientsCursor),
    adminCall<{ members: Member[] }>(c, "GET", `${base}/members`),
    adminCall<Counts>(c, "GET", `/metrics?org=${encodeURIComponent(org)}`),
    adminCall<{ orgs: Org[] }>(c, "GET", "/orgs"),
  ]);
  const name = (orgs.ok ? orgs.body.orgs.find((o) => o.id === org)?.name : undefined) ?? org;
  const url = orgUrl(org);
  return c.html(
    <ConsoleLayout title={name} nonce={c.var.nonce} caller={c.var.caller}>
      <p>
        <a href={`${url}/policies`}>Policies</a> · <a href={`${url}/revocations`}>Revocations</a> ·{" "}
        <a href={`${url}/mcp`}>MCP servers and access</a> · <a href={`${url}/vault`}>Saved connections</a> ·{" "}
        <a href={`${ENDPOINT.console}/audit?org=${encodeURIComponent(org)}`}>Audit trail</a>
      </p>
      <Notice text={once.notice} />
      <ProblemNotice problem={once.problem ?? (clients.ok ? undefined : clients.problem)} />
      {once.secret ? (
        <section>
          <p class="notice">{once.secret.label} It is shown only this once: store it now.</p>
          <p class="secret" data-testid={once.secret.testId}>
            {once.secret.value}
          </p>
        </section>
      ) : null}
      <CountsPanel counts={counts} />
      <h2>Clients</h2>
      <ListTable testId="clients" columns={["Name", "Client id", "Type", "Auth", "Scope", "Status", ""]}>
        {(clients.ok ? clients.body.clients : []).map((client) => (
          <tr data-testid="client-row">
            <td>{client.client_name}</td>
            <td>
              <code>{client.client_id}</code>
            </td>
            <td>{client.client_type}</td>
            <td>{client.token_endpoint_auth_method}</td>
            <td>{client.scope}</td>
            <td data-testid="client-status">{client.status}</td>
            <td>
              {client.token_endpoint_auth_method !== "private_key_jwt" && client.status === "active" ? (
                <RowAction
                  action={`${url}/clients/${encodeURIComponent(client.client_id)}/rotate`}
                  label="Rotate secret"
                  secondary
                />
              ) : null}{" "}
              {client.status === "active" ? (
                <RowAction
                  action={`${url}/clients/${encodeURIComponent(client.client_id)}/disable`}
                  label="Disable"
                  secondary
                />
              ) : null}
            </td>
          </tr>
        ))}
      </ListTable>
      <PageLinks
        url={url}
        param="clients_cursor"
        cursor={clientsCursor}
        next={clients.ok ? clients.body.next_cursor : null}
        testId="clients-pages"
      />
      <h3>New client</h3>
      <form method="post" action={`${url}/clients`} class="row">
        <label>
          Name
          <input name="name" required maxlength={100} />
        </label>
        <label>
          Type
          <select name="type">
            <option value="machine">machine</option>
            <option value="agent">agent</option>
            <option value="service">service</option>
          </select>
        </label>
        <label>
          Scopes
          <input name="scopes" required value="documents:read" />
        </label>
        <label>
          Audiences
          <input name="audiences" value={authnConfig(c.env).apiAudience} />
        </label>
        <button type="submit">Create client</button>
      </form>
      <h2>Members</h2>
      <ListTable testId="members" columns={["Name", "Email", "Role", "User id"]}>
        {(members.ok ? members.body.members : []).map((m) => (
          <tr data-testid="member-row">
            <td>{m.name}</td>
            <td>{m.email}</td>
            <td>{m.role}</td>
            <td>
              <code>{m.user_id}</code>
            </td>
          </tr>
        ))}
      </ListTable>
      <h2>Invite a host</h2>
      <form method="post" action={`${url}/invites`} class="row">
        <label>
          Scopes
          <input name="scopes" required value="documents:read" />
        </label>
        <label>
          Valid for (seconds)
          <input name="ttl" required value="3600" inputmode="numeric" />
        </label>
        <label>
          <span>
            <input type="checkbox" name="dpop" value="true" /> Bind the host's tokens to its key (DPoP)
          </span>
        </label>
        <button type="submit">Create invite</button>
      </form>
    </ConsoleLayout>,
  );
}

/** POST /console/orgs/{org}/clients: the client's secret, once, on the org page. */
export async function createClient(c: ConsoleContext) {
  const form = formFields(c);
  const org = c.req.param("org") ?? "";
  const audiences = listField(form, "audiences");
  const created = await adminCall<Client>(c, "POST", `${orgPath(org)}/clients`, {
    client_name: form.get("name") ?? "",
    client_type: form.get("type") ?? "machine",
    token_endpoint_auth_method: "client_secret_basic",
    scope: listField(form, "scopes"),
    audiences: audiences.length > 0 ? audiences : [authnConfig(c.env).apiAudience],
  });
  if (!created.ok) return orgPage(c, { problem: created.problem });
  return orgPage(c, {
    notice: `Client ${created.body.client_name} created: ${created.body.client_id}.`,
    secret: { label: "Its client secret.", value: created.body.client_secret ?? "", testId: "client-secret" },
  });
}

/** POST /console/orgs/{org}/clients/{id}/rotate: a new secret, once; the client's tokens are revoked. */
export async function rotateClient(c: ConsoleContext) {
  const org = c.req.param("org") ?? "";
  const id = c.req.param("id") ?? "";
  const rotated = await adminCall<Client>(c, "POST", `${orgPath(org)}/clients/${encodeURIComponent(id)}/rotate-secret`);
  if (!rotated.ok) return orgPage(c, { problem: rotated.problem });
  return orgPage(c, {
    notice: `Client ${id}'s secret was rotated and its tokens revoked.`,
    secret: { label: "Its new client secret.", value: rotated.body.client_secret ?? "", testId: "client-secret" },
  });
}

/** POST /console/orgs/{org}/clients/{id}/disable. */
export async function disableClient(c: ConsoleContext) {
  const org = c.req.param("org") ?? "";
  const id = c.req.param("id") ?? "";
  const disabled = await adminCall<Client>(c, "POST", `${orgPath(org)}/clients/${encodeURIComponent(id)}/disable`);
  if (!disabled.ok) return orgPage(c, { problem: disabled.problem });
  return orgPage(c, { notice: `Client ${id} disabled; its tokens are revoked.` });
}

/** POST /console/orgs/{org}/invites: the invite JWT, once. */
export async function createInvite(c: ConsoleContext) {
  const form = formFields(c);
  const org = c.req.param("org") ?? "";
  const ttl = Number(form.get("ttl") ?? "");
  const created = await adminCall<{ invite: string; expires_at: string }>(c, "POST", `${orgPath(org)}/invites`, {
    scopes: listField(form, "scopes"),
    ttl_seconds: Number.isInteger(ttl) ? ttl : 0,
    // RFC 9449 §5.2 for the host's client; an unticked box sends nothing, so false.
    dpop_bound_access_tokens: form.get("dpop") === "true",
  });
  if (!created.ok) return orgPage(c, { problem: created.problem });
  return orgPage(c, {
    notice: `Invite created; it expires at ${created.body.expires_at}. The host runs: mono-auth host bootstrap --invite <invite>`,
    secret: { label: "The invite.", value: created.body.invite, testId: "invite" },
  });
}
