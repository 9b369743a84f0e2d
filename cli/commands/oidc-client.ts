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
  post_logout_redirect_uris: string[];
  backchannel_logout_uri: string | null;
  token_endpoint_auth_method: string;
  scope: string;
  resources: string[];
  disabled: boolean;
  created_at: string | null;
  /** Only in the answers to create and rotate-secret, once. */
  client_secret?: string;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function clientPath(id: string): string {
  return `/oidc-clients/${encodeURIComponent(id)}`;
}

/** One client as a table; its secret only when the answer carries it (create, rotate-secret). */
function printClient(json: boolean, client: OidcClientView): void {
  printResult(json, client, () =>
    keyValueTable([
      ["client_id", client.client_id],
      ...(client.client_secret ? [["client_secret (shown once)", client.client_secret] as [string, string]] : []),
      ["name", client.client_name],
      ["auth method", client.token_endpoint_auth_method],
      ["redirect_uris", client.redirect_uris.join(" ")],
      ["post_logout_redirect_uris", client.post_logout_redirect_uris.join(" ")],
      ["backchannel_logout_uri", client.backchannel_logout_uri ?? ""],
      ["scope", client.scope],
      ["resources", client.resources.join(" ")],
      ["disabled", client.disabled ? "yes" : "no"],
    ]),
  );
}

/**
 * `mono-auth oidc-client create|list|show|update|disable|enable|rotate-secret|delete`:
 * relying parties of the browser OpenID provider (authorization code +
 * PKCE S256), registered by an operator; nobody can register one through
 * Better Auth's own API.
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
      .option(
        "--post-logout-redirect-uri <uri>",
        "where RP-initiated logout may return the browser, exact (repeat for several)",
        collect,
      )
      .option(
        "--backchannel-logout-uri <uri>",
        "where a Logout Token is POSTed when a session the client holds tokens of ends (OIDC Back-Channel Logout)",
      )
      .option("--public", "a public client (SPA, native app): PKCE only, no secret", false)
      .option("--scope <scopes>", "space-separated scopes (default: openid profile email offline_access)")
      .option("--resource <uri>", "an RFC 8707 resource it may ask tokens for (repeat; default: the API)", collect),
  ).action(
    async (
      options: CommonOptions & {
        name: string;
        redirectUri: string[];
        postLogoutRedirectUri?: string[];
        backchannelLogoutUri?: string;
        public: boolean;
        scope?: string;
        resource?: string[];
      },
    ) => {
      if (options.redirectUri.length === 0) throw new CliError("--redirect-uri is required");
      const created = await new AdminApi(options).request<OidcClientView>("POST", "/oidc-clients", {
        client_name: options.name,
        redirect_uris: options.redirectUri,
        ...(options.postLogoutRedirectUri?.length ? { post_logout_redirect_uris: options.postLogoutRedirectUri } : {}),
        ...(options.backchannelLogoutUri ? { backchannel_logout_uri: options.backchannelLogoutUri } : {}),
        type: options.public ? "public" : "confidential",
        ...(options.scope ? { scope: options.scope } : {}),
        ...(options.resource?.length ? { resources: options.resource } : {}),
      });
      printClient(options.json, created);
    },
  );

  withCommonOptions(clients.command("list").description("list the browser clients, newest first")).action(
    async (options: CommonOptions) => {
      const listed = await new AdminApi(options).request<{ oidc_clients: OidcClientView[] }>("GET", "/oidc-clients");
      printResult(options.json, listed, () =>
        columnsTable(
          ["client_id", "name", "auth", "redirect_uris", "scope", "disabled"],
          listed.oidc_clients.map((c) => [
            c.client_id,
            c.client_name,
            c.token_endpoint_auth_method,
            c.redirect_uris.join(" "),
            c.scope,
            c.disabled ? "yes" : "",
          ]),
        ),
      );
    },
  );

  withCommonOptions(
    clients
      .command("show")
      .description("show one browser client")
      .requiredOption("--id <client_id>", "the client's id"),
  ).action(async (options: CommonOptions & { id: string }) => {
    printClient(options.json, await new AdminApi(options).request<OidcClientView>("GET", clientPath(options.id)));
  });

  withCommonOptions(
    clients
      .command("update")
      .description("change a browser client; each option given replaces what it names, from the next sign-in on")
      .requiredOption("--id <client_id>", "the client's id")
      .option("--name <name>", "the name people see on the consent page")
      .option("--redirect-uri <uri>", "an exact redirect URI (repeat; replaces the list)", collect)
      .option(
        "--post-logout-redirect-uri <uri>",
        "where RP-initiated logout may return the browser (repeat; replaces the list)",
        collect,
      )
      .option("--no-post-logout-redirect", "clear that list: logout ends on the provider's own page")
      .option("--backchannel-logout-uri <uri>", "where a Logout Token is POSTed when a session ends (replaces it)")
      .option("--no-backchannel-logout", "stop sending Logout Tokens to this client")
      .option("--scope <scopes>", "space-separated scopes (replaces them; must include openid)")
      .option("--resource <uri>", "an RFC 8707 resource (repeat; replaces the list)", collect),
  ).action(
    async (
      options: CommonOptions & {
        id: string;
        name?: string;
        redirectUri?: string[];
        postLogoutRedirectUri?: string[];
        /** False with --no-post-logout-redirect (commander's negation); true otherwise. */
        postLogoutRedirect: boolean;
        backchannelLogoutUri?: string;
        /** False with --no-backchannel-logout. */
        backchannelLogout: boolean;
        scope?: string;
        resource?: string[];
      },
    ) => {
      if (options.postLogoutRedirectUri?.length && !options.postLogoutRedirect) {
        throw new CliError("give --post-logout-redirect-uri or --no-post-logout-redirect, not both");
      }
      if (options.backchannelLogoutUri && !options.backchannelLogout) {
        throw new CliError("give --backchannel-logout-uri or --no-backchannel-logout, not both");
      }
      const changes = {
        ...(options.name !== undefined ? { client_name: options.name } : {}),
        ...(options.redirectUri?.length ? { redirect_uris: options.redirectUri } : {}),
        ...(options.postLogoutRedirectUri?.length ? { post_logout_redirect_uris: options.postLogoutRedirectUri } : {}),
        ...(options.postLogoutRedirect ? {} : { post_logout_redirect_uris: [] }),
        ...(options.backchannelLogoutUri ? { backchannel_logout_uri: options.backchannelLogoutUri } : {}),
        ...(options.backchannelLogout ? {} : { backchannel_logout_uri: null }),
        ...(options.scope !== undefined ? { scope: options.scope } : {}),
        ...(options.resource?.length ? { resources: options.resource } : {}),
      };
      if (Object.keys(changes).length === 0) {
        throw new CliError(
          "nothing to change: give --name, --redirect-uri, --post-logout-redirect-uri, --no-post-logout-redirect, --backchannel-logout-uri, --no-backchannel-logout, --scope or --resource",
        );
      }
      printClient(
        options.json,
        await new AdminApi(options).request<OidcClientView>("PATCH", clientPath(options.id), changes),
      );
    },
  );

  for (const [name, disabled, description] of [
    ["disable", true, "refuse a browser client at the provider, end its refresh tokens and revoke its access tokens"],
    ["enable", false, "let a disabled browser client sign people in again (its ended tokens stay ended)"],
  ] as const) {
    withCommonOptions(
      clients.command(name).description(description).requiredOption("--id <client_id>", "the client's id"),
    ).action(async (options: CommonOptions & { id: string }) => {
      printClient(
        options.json,
        await new AdminApi(options).request<OidcClientView>("PATCH", clientPath(options.id), { disabled }),
      );
    });
  }

  withCommonOptions(
    clients
      .command("rotate-secret")
      .description("give a confidential browser client a new secret (printed once); the old one stops working at once")
      .requiredOption("--id <client_id>", "the client's id"),
  ).action(async (options: CommonOptions & { id: string }) => {
    printClient(
      options.json,
      await new AdminApi(options).request<OidcClientView>("POST", `${clientPath(options.id)}/rotate-secret`),
    );
  });

  withCommonOptions(
    clients
      .command("delete")
      .description("delete a browser client, its tokens ended and revoked first")
      .requiredOption("--id <client_id>", "the client's id"),
  ).action(async (options: CommonOptions & { id: string }) => {
    const deleted = await new AdminApi(options).request<{ client_id: string; deleted: boolean }>(
      "DELETE",
      clientPath(options.id),
    );
    printResult(options.json, deleted, () => keyValueTable([["deleted", deleted.client_id]]));
  });
}
