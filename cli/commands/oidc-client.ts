import type { Command } from "commander";
import { AdminApi } from "../lib/admin-api.ts";
import { CliError } from "../lib/errors.ts";
import { type CommonOptions, withCommonOptions } from "../lib/options.ts";
import { columnsTable, keyValueTable, printResult } from "../lib/output.ts";

/** A browser client as the admin API shows it (workers/token/src/admin/oidc-clients.ts). */
interface OidcClientView {
  client_id: string;
  client_name: string;
  redirect_uris: string[];
  token_endpoint_auth_method: string;
  scope: string;
  resources: string[];
  created_at: string | null;
  /** Only in the answer to create, once. */
  client_secret?: string;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * `mono-auth oidc-client create|list`: relying parties of the browser
 * OpenID provider (authorization code + PKCE S256), registered by an
 * operator; nobody can register one through Better Auth's own API.
 */
export function registerOidcClientCommands(program: Command): void {
  const clients = program
    .command("oidc-client")
    .description("browser (OpenID Connect) clients: authorization code + PKCE at the one issuer");

  withCommonOptions(
    clients
      .command("create")
      .description("register a relying party; a confidential client's secret is printed once")
      .requiredOption("--name <name>", "the name people see on the consent page")
      .requiredOption("--redirect-uri <uri>", "an exact redirect URI (repeat for several)", collect)
      .option("--public", "a public client (SPA, native app): PKCE only, no secret", false)
      .option("--scope <scopes>", "space-separated scopes (default: openid profile email offline_access)")
      .option("--resource <uri>", "an RFC 8707 resource it may ask tokens for (repeat; default: the API)", collect),
  ).action(
    async (
      options: CommonOptions & {
        name: string;
        redirectUri: string[];
        public: boolean;
        scope?: string;
        resource?: string[];
      },
    ) => {
      if (options.redirectUri.length === 0) throw new CliError("--redirect-uri is required");
      const created = await new AdminApi(options).request<OidcClientView>("POST", "/oidc-clients", {
        client_name: options.name,
        redirect_uris: options.redirectUri,
        type: options.public ? "public" : "confidential",
        ...(options.scope ? { scope: options.scope } : {}),
        ...(options.resource?.length ? { resources: options.resource } : {}),
      });
      printResult(options.json, created, () =>
        keyValueTable([
          ["client_id", created.client_id],
          ...(created.client_secret ? [["client_secret (shown once)", created.client_secret] as [string, string]] : []),
          ["name", created.client_name],
          ["auth method", created.token_endpoint_auth_method],
          ["redirect_uris", created.redirect_uris.join(" ")],
          ["scope", created.scope],
          ["resources", created.resources.join(" ")],
        ]),
      );
    },
  );

  withCommonOptions(clients.command("list").description("list the browser clients, newest first")).action(
    async (options: CommonOptions) => {
      const listed = await new AdminApi(options).request<{ oidc_clients: OidcClientView[] }>("GET", "/oidc-clients");
      printResult(options.json, listed, () =>
        columnsTable(
          ["client_id", "name", "auth", "redirect_uris", "scope"],
          listed.oidc_clients.map((c) => [
            c.client_id,
            c.client_name,
            c.token_endpoint_auth_method,
            c.redirect_uris.join(" "),
            c.scope,
          ]),
        ),
      );
    },
  );
}
