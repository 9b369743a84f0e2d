import type { Command } from "commander";
import { AdminApi } from "../lib/admin-api.ts";
import { type CommonOptions, parseScopes, withCommonOptions } from "../lib/options.ts";
import { columnsTable, keyValueTable, printResult } from "../lib/output.ts";
import { registerPagedList } from "../lib/pages.ts";
import { FROM_STDIN, secretArgument } from "../lib/secret-argument.ts";

/** A vault provider as the admin API shows it (workers/token/src/admin/vault.ts): never its client secret. */
interface Provider {
  id: string;
  name: string;
  resource: string;
  authorization_endpoint: string;
  token_endpoint: string;
  revocation_endpoint: string | null;
  client_id: string;
  has_client_secret: boolean;
  scopes: string[];
  created_at: string;
}

/** A saved connection's metadata; no answer carries its tokens. */
interface Connection {
  id: string;
  provider_id: string;
  resource: string;
  owner: { kind: string; id: string };
  has_refresh_token: boolean;
  expires_at: string | null;
  scopes: string[];
  agents: string[];
  last_used_at: string | null;
}

interface OrgOption extends CommonOptions {
  org: string;
}

interface ProviderOptions extends OrgOption {
  name?: string;
  resource?: string;
  authorizationEndpoint?: string;
  tokenEndpoint?: string;
  revocationEndpoint?: string;
  clientId?: string;
  clientSecret?: string;
  publicClient?: boolean;
  scopes?: string[];
}

function providerBody(options: ProviderOptions): Record<string, unknown> {
  return {
    ...(options.name ? { name: options.name } : {}),
    ...(options.resource ? { resource: options.resource } : {}),
    ...(options.authorizationEndpoint ? { authorization_endpoint: options.authorizationEndpoint } : {}),
    ...(options.tokenEndpoint ? { token_endpoint: options.tokenEndpoint } : {}),
    // "" drops it (the API's null): the provider then has no RFC 7009 endpoint.
    ...(options.revocationEndpoint !== undefined
      ? { revocation_endpoint: options.revocationEndpoint === "" ? null : options.revocationEndpoint }
      : {}),
    ...(options.clientId ? { client_id: options.clientId } : {}),
    ...(options.clientSecret ? { client_secret: options.clientSecret } : {}),
    ...(options.publicClient ? { client_secret: null } : {}),
    ...(options.scopes ? { scopes: options.scopes } : {}),
  };
}

function providerTable(p: Provider): string {
  return keyValueTable([
    ["id", p.id],
    ["name", p.name],
    ["resource", p.resource],
    ["authorization_endpoint", p.authorization_endpoint],
    ["token_endpoint", p.token_endpoint],
    ["revocation_endpoint", p.revocation_endpoint ?? "(none: tokens are not revoked there on delete)"],
    ["client_id", p.client_id],
    ["client_secret", p.has_client_secret ? "(sealed)" : "(none: public client)"],
    ["scopes", p.scopes.join(" ")],
  ]);
}

function withProviderFields(command: Command): Command {
  return command
    .option("--name <name>", "its name in the org: GET /vault/connect/<name>")
    .option(
      "--resource <resource>",
      "what it serves: a gateway route's saved-connection resource, a URL or an MCP server",
    )
    .option("--authorization-endpoint <url>", "the provider's authorization endpoint (https)")
    .option("--token-endpoint <url>", "the provider's token endpoint (https)")
    .option(
      "--revocation-endpoint <url>",
      "the provider's RFC 7009 revocation endpoint (https): a deleted connection's tokens are revoked there; '' drops it",
    )
    .option("--client-id <id>", "our client id at the provider")
    .option(
      "--client-secret <secret>",
      `our client secret there (sealed at rest, never shown again)${FROM_STDIN}`,
      secretArgument,
    )
    .option("--scopes <scopes>", "scopes to ask for (space-separated)", parseScopes);
}

/**
 * `mono-auth vault provider|connection …`: the saved-token vault's operator
 * surface (admin API /orgs/{org}/vault/…). Tokens are never printed: the
 * API has no answer that carries one.
 */
export function registerVaultCommands(program: Command): void {
  const vault = program.command("vault").description("the saved-token vault: providers and saved connections");
  const provider = vault.command("provider").description("upstream OAuth providers the org connects to");
  const connection = vault.command("connection").description("saved connections (metadata only)");

  withCommonOptions(
    withProviderFields(
      provider.command("create").description("configure a provider").requiredOption("--org <org>", "the org id"),
    ),
  ).action(async (options: ProviderOptions) => {
    const created = await new AdminApi(options).request<Provider>(
      "POST",
      `/orgs/${encodeURIComponent(options.org)}/vault/providers`,
      providerBody(options),
    );
    printResult(options.json, created, () => providerTable(created));
  });

  withCommonOptions(
    withProviderFields(
      provider
        .command("update")
        .description("change a provider's fields")
        .requiredOption("--org <org>", "the org id")
        .requiredOption("--id <id>", "the provider id")
        .option("--public-client", "drop the client secret (PKCE only)"),
    ),
  ).action(async (options: ProviderOptions & { id: string }) => {
    const updated = await new AdminApi(options).request<Provider>(
      "PATCH",
      `/orgs/${encodeURIComponent(options.org)}/vault/providers/${encodeURIComponent(options.id)}`,
      providerBody(options),
    );
    printResult(options.json, updated, () => providerTable(updated));
  });

  withCommonOptions(
    provider.command("list").description("list the org's providers").requiredOption("--org <org>", "the org id"),
  ).action(async (options: OrgOption) => {
    const listed = await new AdminApi(options).request<{ providers: Provider[] }>(
      "GET",
      `/orgs/${encodeURIComponent(options.org)}/vault/providers`,
    );
    printResult(options.json, listed, () =>
      columnsTable(
        ["id", "name", "resource", "client_id", "scopes"],
        listed.providers.map((p) => [p.id, p.name, p.resource, p.client_id, p.scopes.join(" ")]),
      ),
    );
  });

  withCommonOptions(
    provider
      .command("delete")
      .description("delete a provider and every connection made through it, revoking their tokens there (best effort)")
      .requiredOption("--org <org>", "the org id")
      .requiredOption("--id <id>", "the provider id"),
  ).action(async (options: OrgOption & { id: string }) => {
    const deleted = await new AdminApi(options).request<{
      id: string;
      connections_deleted: number;
      provider_revocation: { failed: number };
    }>("DELETE", `/orgs/${encodeURIComponent(options.org)}/vault/providers/${encodeURIComponent(options.id)}`);
    printResult(
      options.json,
      deleted,
      () =>
        `deleted ${deleted.id} (${deleted.connections_deleted} connections)` +
        (deleted.provider_revocation.failed > 0
          ? `; the provider did not revoke the tokens of ${deleted.provider_revocation.failed} (valid there until they expire)`
          : ""),
    );
  });

  withCommonOptions(
    provider
      .command("connect")
      .description(
        "print a single-use link for an admin or owner of the org to confirm in the browser; it then goes on to the provider",
      )
      .requiredOption("--org <org>", "the org id")
      .requiredOption("--id <id>", "the provider id")
      .option("--owner <owner>", '"org" (default) or a member\'s user id'),
  ).action(async (options: OrgOption & { id: string; owner?: string }) => {
    const started = await new AdminApi(options).request<{ confirmation_url: string; expires_at: string }>(
      "POST",
      `/orgs/${encodeURIComponent(options.org)}/vault/providers/${encodeURIComponent(options.id)}/connect`,
      options.owner ? { owner: options.owner } : {},
    );
    printResult(
      options.json,
      started,
      () =>
        `${keyValueTable([
          ["confirmation_url", started.confirmation_url],
          ["expires_at", started.expires_at],
        ])}\n` +
        (options.owner && options.owner !== "org"
          ? "Send this link to that person: signed in as themselves (an admin or owner of the org), they confirm it, then approve at the provider.\n"
          : "Open this link signed in as an admin or owner of the org: the page shows what will happen; after you confirm, approve at the provider with the account to save for the whole org.\n") +
        "The link works once, until it expires; nobody else can finish the flow you start.",
    );
  });

  registerPagedList(connection, {
    description: "list saved connections, oldest first",
    org: "the org id",
    path: (org) => `/orgs/${encodeURIComponent(org)}/vault/connections`,
    key: "connections",
    columns: ["id", "resource", "owner", "expires_at", "agents", "last_used_at"],
    row: (c: Connection) => [
      c.id,
      c.resource,
      `${c.owner.kind}:${c.owner.id}`,
      c.expires_at ?? "-",
      c.agents.join(" ") || "(none)",
      c.last_used_at ?? "-",
    ],
  });

  withCommonOptions(
    connection
      .command("delete")
      .description("delete a saved connection, then revoke its tokens at the provider (best effort)")
      .requiredOption("--org <org>", "the org id")
      .requiredOption("--id <id>", "the connection id"),
  ).action(async (options: OrgOption & { id: string }) => {
    const deleted = await new AdminApi(options).request<{ id: string; provider_revocation: string }>(
      "DELETE",
      `/orgs/${encodeURIComponent(options.org)}/vault/connections/${encodeURIComponent(options.id)}`,
    );
    printResult(options.json, deleted, () =>
      deleted.provider_revocation === "failed"
        ? `deleted ${deleted.id}; the provider did not revoke its tokens (they stay valid there until they expire)`
        : `deleted ${deleted.id} (provider revocation: ${deleted.provider_revocation})`,
    );
  });

  for (const [verb, method, description] of [
    ["bind", "POST", "let an agent (a client of the org) use the connection"],
    ["unbind", "DELETE", "stop an agent using the connection"],
  ] as const) {
    withCommonOptions(
      connection
        .command(verb)
        .description(description)
        .requiredOption("--org <org>", "the org id")
        .requiredOption("--id <id>", "the connection id")
        .requiredOption("--client <client_id>", "the agent's client id"),
    ).action(async (options: OrgOption & { id: string; client: string }) => {
      const base = `/orgs/${encodeURIComponent(options.org)}/vault/connections/${encodeURIComponent(options.id)}/agents`;
      const result = await new AdminApi(options).request<{ connection_id: string; client_id: string; bound: boolean }>(
        method,
        method === "POST" ? base : `${base}/${encodeURIComponent(options.client)}`,
        method === "POST" ? { client_id: options.client } : undefined,
      );
      printResult(
        options.json,
        result,
        () => `${result.client_id} ${result.bound ? "may use" : "may no longer use"} ${result.connection_id}`,
      );
    });
  }
}
