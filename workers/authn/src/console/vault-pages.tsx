import { ENDPOINT } from "../../../../shared/contracts/endpoints.ts";
import { adminCall, adminListPage, orgPath, type Problem } from "./admin-call.ts";
import { ConsoleLayout, Notice, ProblemNotice } from "./console-layout.tsx";
import { formFields, listField } from "./form.ts";
import { ListTable, RowAction } from "./list-table.tsx";
import { PageLinks } from "./page-links.tsx";
import type { ConsoleContext } from "./types.ts";

/** The admin API's provider view (workers/token/src/admin/vault-schemas.ts): never the client secret. */
interface Provider {
  id: string;
  name: string;
  resource: string;
  authorization_endpoint: string;
  token_endpoint: string;
  /** RFC 7009: where a deleted connection's tokens are revoked; null when the provider has none. */
  revocation_endpoint: string | null;
  client_id: string;
  has_client_secret: boolean;
  scopes: string[];
}
/** A saved connection's metadata: the admin API never answers with a token. */
interface Connection {
  id: string;
  provider_id: string;
  resource: string;
  owner: { kind: "user" | "org"; id: string };
  has_refresh_token: boolean;
  expires_at: string | null;
  scopes: string[];
  agents: string[];
  last_used_at: string | null;
}

/** What a POST on the vault page shows: a notice, the provider's authorization URL, or what went wrong. */
interface VaultPageOnce {
  notice?: string;
  problem?: Problem;
  connect?: { providerId: string; url: string; expiresAt: string };
}

const vaultUrl = (org: string) => `${ENDPOINT.console}/orgs/${encodeURIComponent(org)}/vault`;
const part = (value: string) => encodeURIComponent(value);

/**
 * GET /console/orgs/{org}/vault[?connections_cursor=]: the org's saved-token
 * providers (admin API /orgs/{org}/vault/providers) with a form to configure
 * one, and its saved connections (/orgs/{org}/vault/connections, metadata
 * only, a page of them and a link to the next) with the agents bound to each
 * (docs/vault.md). A client secret is written, never shown:
 * the API answers `has_client_secret` only.
 */
export async function vaultPage(c: ConsoleContext, once: VaultPageOnce = {}) {
  const org = c.req.param("org") ?? "";
  const base = orgPath(org);
  const connectionsCursor = c.req.query("connections_cursor");
  const [providers, connections] = await Promise.all([
    adminCall<{ providers: Provider[] }>(c, "GET", `${base}/vault/providers`),
    adminListPage<"connections", Connection>(c, `${base}/vault/connections`, connectionsCursor),
  ]);
  const url = vaultUrl(org);
  const providerList = providers.ok ? providers.body.providers : [];
  const providerName = (id: string) => providerList.find((p) => p.id === id)?.name ?? id;
  const failed = [providers, connections].find((a) => !a.ok);
  return c.html(
    <ConsoleLayout title="Saved connections" nonce={c.var.nonce} caller={c.var.caller}>
      <p>
        <a href={`${ENDPOINT.console}/orgs/${part(org)}`}>Back to the organization</a>
      </p>
      <Notice text={once.notice} />
      <ProblemNotice problem={once.problem ?? (failed && !failed.ok ? failed.problem : undefined)} />
      {once.connect ? (
        <section>
          {/* A link, not a redirect: the console's CSP (form-action 'self') stops a form post from ending on another site. */}
          <p class="notice">
            Connect {providerName(once.connect.providerId)} for the organization: continue at the provider before{" "}
            {once.connect.expiresAt}. The flow is single use.
          </p>
          <p>
            <a href={once.connect.url} data-testid="connect-link" rel="noreferrer">
              Continue to {providerName(once.connect.providerId)}
            </a>
          </p>
        </section>
      ) : null}
      <h2>Providers</h2>
      <ListTable
        testId="vault-providers"
        columns={["Name", "Resource", "Endpoints", "Client id", "Secret", "Scopes", ""]}
      >
        {providerList.map((p) => (
          <tr data-testid="vault-provider-row">
            <td>{p.name}</td>
            <td>
              <code>{p.resource}</code>
            </td>
            <td>
              <code>{p.authorization_endpoint}</code>
              <br />
              <code>{p.token_endpoint}</code>
              <br />
              {p.revocation_endpoint ? <code>{p.revocation_endpoint}</code> : "no revocation endpoint"}
              {/* Empty removes it; the admin API checks the URL as at create (docs/vault.md). */}
              <form method="post" class="inline" action={`${url}/providers/${part(p.id)}/revocation-endpoint`}>
                <label>
                  Revocation endpoint
                  <input name="revocation_endpoint" type="url" value={p.revocation_endpoint ?? ""} />
                </label>{" "}
                <button type="submit" class="secondary">
                  Save
                </button>
              </form>
            </td>
            <td>
              <code>{p.client_id}</code>
            </td>
            <td>{p.has_client_secret ? "set" : "none (public client)"}</td>
            <td>{p.scopes.join(" ")}</td>
            <td>
              <RowAction action={`${url}/providers/${part(p.id)}/connect`} label="Connect for the org" />{" "}
              <RowAction action={`${url}/providers/${part(p.id)}/delete`} label="Delete provider" secondary />
            </td>
          </tr>
        ))}
      </ListTable>
      <h3>Configure a provider</h3>
      <form method="post" action={`${url}/providers`} class="row">
        <label>
          Provider name
          <input name="name" required maxlength={64} pattern="[a-z0-9][a-z0-9._\-]*" />
        </label>
        <label>
          Authorization endpoint
          <input name="authorization_endpoint" required type="url" />
        </label>
        <label>
          Token endpoint
          <input name="token_endpoint" required type="url" />
        </label>
        <label>
          Revocation endpoint (RFC 7009, optional)
          <input name="revocation_endpoint" type="url" />
        </label>
        <label>
          Provider client id
          <input name="client_id" required />
        </label>
        <label>
          Provider client secret (never shown again)
          <input name="client_secret" type="password" autocomplete="off" />
        </label>
        <label>
          Scopes
          <input name="scopes" />
        </label>
        <label>
          Resource (what it serves)
          <input name="resource" required />
        </label>
        <button type="submit">Add provider</button>
      </form>
      <h2>Saved connections</h2>
      <ListTable
        testId="vault-connections"
        columns={["Owner", "Provider", "Scopes", "Expires", "Last used", "Agents", ""]}
      >
        {(connections.ok ? connections.body.connections : []).map((k) => {
          const at = `${url}/connections/${part(k.id)}`;
          return (
            <tr data-testid="vault-connection-row">
              <td>{k.owner.kind === "org" ? "the organization" : `user ${k.owner.id}`}</td>
              <td>{providerName(k.provider_id)}</td>
              <td>{k.scopes.join(" ")}</td>
              <td>
                {k.expires_at ?? "no expiry given"}
                {k.has_refresh_token ? " (refreshable)" : ""}
              </td>
              <td>{k.last_used_at ?? "never"}</td>
              <td>
                {k.agents.map((agent) => (
                  <>
                    <code>{agent}</code>{" "}
                    <RowAction action={`${at}/agents/${part(agent)}/unbind`} label="Unbind" secondary />{" "}
                  </>
                ))}
                <form method="post" class="inline" action={`${at}/agents`}>
                  <label>
                    Agent client id
                    <input name="client_id" required />
                  </label>{" "}
                  <button type="submit">Bind</button>
                </form>
              </td>
              <td>
                <RowAction action={`${at}/delete`} label="Delete" secondary />
              </td>
            </tr>
          );
        })}
      </ListTable>
      <PageLinks
        url={url}
        param="connections_cursor"
        cursor={connectionsCursor}
        next={connections.ok ? connections.body.next_cursor : null}
        testId="vault-connections-pages"
      />
    </ConsoleLayout>,
  );
}

/** POST /console/orgs/{org}/vault/providers: the secret goes to the admin API, which seals it; the page never echoes it. */
export async function createProvider(c: ConsoleContext) {
  const form = formFields(c);
  const org = c.req.param("org") ?? "";
  const secret = form.get("client_secret") ?? "";
  const revocation = form.get("revocation_endpoint") ?? "";
  const created = await adminCall<Provider>(c, "POST", `${orgPath(org)}/vault/providers`, {
    name: form.get("name") ?? "",
    authorization_endpoint: form.get("authorization_endpoint") ?? "",
    token_endpoint: form.get("token_endpoint") ?? "",
    // Empty means the provider has none; a URL is the admin API's to accept or refuse.
    ...(revocation ? { revocation_endpoint: revocation } : {}),
    client_id: form.get("client_id") ?? "",
    // Empty means a public client: no secret at all rather than an empty one.
    ...(secret ? { client_secret: secret } : {}),
    scopes: listField(form, "scopes"),
    resource: form.get("resource") ?? "",
  });
  if (!created.ok) return vaultPage(c, { problem: created.problem });
  return vaultPage(c, { notice: `Added provider ${created.body.name} for ${created.body.resource}.` });
}

/** POST …/vault/providers/{id}/revocation-endpoint: set it, or remove it with an empty field (PATCH null). */
export async function setProviderRevocation(c: ConsoleContext) {
  const org = c.req.param("org") ?? "";
  const id = c.req.param("id") ?? "";
  const revocation = formFields(c).get("revocation_endpoint") ?? "";
  const done = await adminCall<Provider>(c, "PATCH", `${orgPath(org)}/vault/providers/${part(id)}`, {
    revocation_endpoint: revocation || null,
  });
  if (!done.ok) return vaultPage(c, { problem: done.problem });
  return vaultPage(c, {
    notice: done.body.revocation_endpoint
      ? `Provider ${done.body.name} revokes deleted connections' tokens at ${done.body.revocation_endpoint}.`
      : `Provider ${done.body.name} has no revocation endpoint: a deleted connection's tokens stay valid there until they expire.`,
  });
}

/** POST …/vault/providers/{id}/delete: the provider and every connection made through it. */
export async function deleteProvider(c: ConsoleContext) {
  const org = c.req.param("org") ?? "";
  const id = c.req.param("id") ?? "";
  const done = await adminCall<{ connections_deleted: number; provider_revocation: { failed: number } }>(
    c,
    "DELETE",
    `${orgPath(org)}/vault/providers/${part(id)}`,
  );
  if (!done.ok) return vaultPage(c, { problem: done.problem });
  const unrevoked = done.body.provider_revocation.failed;
  return vaultPage(c, {
    notice:
      `Provider deleted with ${done.body.connections_deleted} connection(s).` +
      (unrevoked > 0
        ? ` The provider could not be told to revoke the tokens of ${unrevoked}: they stay valid there until they expire.`
        : ""),
  });
}

/** POST …/vault/providers/{id}/connect: the org's own connection; state is bound to this person as the operator. */
export async function startConnect(c: ConsoleContext) {
  const org = c.req.param("org") ?? "";
  const id = c.req.param("id") ?? "";
  const started = await adminCall<{ authorization_url: string; expires_at: string }>(
    c,
    "POST",
    `${orgPath(org)}/vault/providers/${part(id)}/connect`,
    { owner: "org" },
  );
  if (!started.ok) return vaultPage(c, { problem: started.problem });
  return vaultPage(c, {
    connect: {
      providerId: id,
      url: started.body.authorization_url,
      expiresAt: started.body.expires_at,
    },
  });
}

/** POST …/vault/connections/{id}/delete. */
export async function deleteConnection(c: ConsoleContext) {
  const org = c.req.param("org") ?? "";
  const id = c.req.param("id") ?? "";
  const done = await adminCall<{ provider_revocation: string }>(
    c,
    "DELETE",
    `${orgPath(org)}/vault/connections/${part(id)}`,
  );
  if (!done.ok) return vaultPage(c, { problem: done.problem });
  // Deleted here either way; the admin should know when the tokens still work at the provider.
  if (done.body.provider_revocation === "failed")
    return vaultPage(c, {
      notice:
        "Saved connection deleted. The provider could not be told to revoke its tokens: they stay valid there until they expire.",
    });
  return vaultPage(c, { notice: "Saved connection deleted." });
}

/** POST …/vault/connections/{id}/agents: the agent may use the connection (deny by default otherwise). */
export async function bindAgent(c: ConsoleContext) {
  const org = c.req.param("org") ?? "";
  const id = c.req.param("id") ?? "";
  const clientId = formFields(c).get("client_id") ?? "";
  const done = await adminCall(c, "POST", `${orgPath(org)}/vault/connections/${part(id)}/agents`, {
    client_id: clientId,
  });
  if (!done.ok) return vaultPage(c, { problem: done.problem });
  return vaultPage(c, { notice: `Agent ${clientId} may use the connection.` });
}

/** POST …/vault/connections/{id}/agents/{client}/unbind. */
export async function unbindAgent(c: ConsoleContext) {
  const org = c.req.param("org") ?? "";
  const id = c.req.param("id") ?? "";
  const clientId = c.req.param("client") ?? "";
  const done = await adminCall(c, "DELETE", `${orgPath(org)}/vault/connections/${part(id)}/agents/${part(clientId)}`);
  if (!done.ok) return vaultPage(c, { problem: done.problem });
  return vaultPage(c, { notice: `Agent ${clientId} no longer uses the connection.` });
}
