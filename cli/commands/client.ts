import { readFileSync } from "node:fs";
import { type Command, Option } from "commander";
import { AdminApi } from "../lib/admin-api.ts";
import { CliError } from "../lib/errors.ts";
import { type CommonOptions, parseAudiences, parseScopes, withCommonOptions } from "../lib/options.ts";
import { keyValueTable, printResult } from "../lib/output.ts";
import { registerPagedList } from "../lib/pages.ts";
import { refusePastedSecret } from "../lib/secret-argument.ts";

/** A client as the admin API shows it (workers/token/src/admin/client-view.ts). */
interface ClientView {
  client_id: string;
  client_secret?: string;
  org_id: string;
  client_name: string;
  client_type: string;
  token_endpoint_auth_method: string;
  grant_types: string[];
  scope: string;
  audiences: string[];
  jwks_uri: string | null;
  status: string;
  created_at: string;
  last_used_at: string | null;
}

const AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"] as const;

interface OrgOptions extends CommonOptions {
  org: string;
}

/** `--jwks FILE`: a JWKS document (RFC 7517 §5), or one public JWK, which becomes a set of one. */
function readJwks(path: string): unknown {
  let document: unknown;
  try {
    document = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new CliError(`--jwks: cannot read ${path} as JSON (${error instanceof Error ? error.message : error})`);
  }
  if (typeof document === "object" && document !== null && "kty" in document) return { keys: [document] };
  return document;
}

const orgPath = (org: string) => `/orgs/${encodeURIComponent(org)}`;
const clientPath = (org: string, id: string) => `${orgPath(org)}/clients/${encodeURIComponent(id)}`;

function clientRows(client: ClientView): [string, string | null][] {
  return [
    ["client_id", client.client_id],
    ...(client.client_secret !== undefined ? ([["client_secret", client.client_secret]] as [string, string][]) : []),
    ["org_id", client.org_id],
    ["name", client.client_name],
    ["type", client.client_type],
    ["auth", client.token_endpoint_auth_method],
    ["grant_types", client.grant_types.join(" ")],
    ["scope", client.scope],
    ["audiences", client.audiences.join(" ")],
    ["status", client.status],
  ];
}

function printClient(json: boolean, client: ClientView): void {
  printResult(json, client, () =>
    [
      keyValueTable(clientRows(client)),
      ...(client.client_secret !== undefined
        ? ["", "The client secret is shown only this once: store it now (it is kept only as a hash)."]
        : []),
    ].join("\n"),
  );
}

export function registerClientCommands(program: Command): void {
  const client = program.command("client").description("an organization's OAuth clients (machines and agents)");

  withCommonOptions(
    client
      .command("create")
      .description("register a confidential client; prints client_id and, for the secret methods, the secret once")
      .requiredOption("--org <org>", "the organization's id")
      .requiredOption("--name <name>", "its display name")
      .addOption(
        new Option("--type <type>", "what it is").choices(["machine", "agent", "service"]).makeOptionMandatory(),
      )
      .addOption(
        new Option("--auth <method>", "how it authenticates at the token endpoint")
          .choices(AUTH_METHODS)
          .makeOptionMandatory(),
      )
      .option("--jwks <file>", "its public keys (a JWKS or one JWK), for private_key_jwt")
      .requiredOption("--scopes <scopes>", 'the scopes it may be granted, space-separated ("a b")', parseScopes)
      .option(
        "--audiences <audiences>",
        "the audiences (resources) it may get tokens for, space-separated (default: <url>/api, the gateway's)",
        parseAudiences,
      ),
  ).action(
    async (
      options: OrgOptions & {
        name: string;
        type: string;
        auth: (typeof AUTH_METHODS)[number];
        jwks?: string;
        scopes: string[];
        audiences?: string[];
      },
    ) => {
      if (options.auth === "private_key_jwt" && !options.jwks) {
        throw new CliError("--jwks <file> is required with --auth private_key_jwt");
      }
      if (options.auth !== "private_key_jwt" && options.jwks) {
        throw new CliError("--jwks is only for --auth private_key_jwt");
      }
      const created = await new AdminApi(options).request<ClientView>("POST", `${orgPath(options.org)}/clients`, {
        client_name: options.name,
        client_type: options.type,
        token_endpoint_auth_method: options.auth,
        scope: options.scopes,
        audiences: options.audiences ?? [`${options.url}/api`],
        ...(options.jwks ? { jwks: readJwks(options.jwks) } : {}),
      });
      printClient(options.json, created);
    },
  );

  registerPagedList(client, {
    description: "list an organization's clients, oldest first",
    org: "the organization's id",
    path: (org) => `${orgPath(org)}/clients`,
    key: "clients",
    columns: ["client_id", "name", "type", "auth", "status", "scope", "last_used_at"],
    row: (c: ClientView) => [
      c.client_id,
      c.client_name,
      c.client_type,
      c.token_endpoint_auth_method,
      c.status,
      c.scope,
      c.last_used_at ?? "-",
    ],
  });

  withCommonOptions(
    client
      .command("rotate")
      .description(
        "rotate a client's credentials and revoke its tokens: a new secret (shown once), or new keys for private_key_jwt",
      )
      .requiredOption("--org <org>", "the organization's id")
      .requiredOption("--id <client_id>", "the client's id")
      .option("--jwks <file>", "the new public keys, for a private_key_jwt client"),
  ).action(async (options: OrgOptions & { id: string; jwks?: string }) => {
    refusePastedSecret("--id", options.id);
    const api = new AdminApi(options);
    // The admin API rotates what the client's method holds and ignores the
    // rest: without this check, --jwks on a secret client would silently
    // replace its secret, and a private_key_jwt client without --jwks would
    // be refused only as a body that "must be application/json".
    const current = await api.request<ClientView>("GET", clientPath(options.org, options.id));
    const keyed = current.token_endpoint_auth_method === "private_key_jwt";
    if (keyed && !options.jwks) {
      throw new CliError(
        "--jwks <file> is required: a private_key_jwt client is rotated by giving its new public keys",
      );
    }
    if (!keyed && options.jwks) {
      throw new CliError(
        `--jwks is only for a private_key_jwt client; this one uses ${current.token_endpoint_auth_method} (rotate without --jwks for a new secret)`,
      );
    }
    const rotated = await api.request<ClientView>(
      "POST",
      `${clientPath(options.org, options.id)}/rotate-secret`,
      options.jwks ? { jwks: readJwks(options.jwks) } : undefined,
    );
    printClient(options.json, rotated);
  });

  withCommonOptions(
    client
      .command("disable")
      .description("disable a client and revoke its tokens")
      .requiredOption("--org <org>", "the organization's id")
      .requiredOption("--id <client_id>", "the client's id"),
  ).action(async (options: OrgOptions & { id: string }) => {
    refusePastedSecret("--id", options.id);
    const disabled = await new AdminApi(options).request<ClientView>(
      "POST",
      `${clientPath(options.org, options.id)}/disable`,
    );
    printClient(options.json, disabled);
  });
}
