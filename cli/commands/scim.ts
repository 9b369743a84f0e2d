import type { Command } from "commander";
import { scimTokenId } from "../../shared/crypto/scim-token.ts";
import { AdminApi } from "../lib/admin-api.ts";
import { CliError } from "../lib/errors.ts";
import { type CommonOptions, withCommonOptions } from "../lib/options.ts";
import { keyValueTable, printResult } from "../lib/output.ts";
import { registerPagedList } from "../lib/pages.ts";

/** What the admin API answers (workers/token/src/admin/scim-tokens.ts). */
interface ScimTokenView {
  id: string;
  org_id: string;
  description: string | null;
  created_by: string;
  created_at: string;
  expires_at: string | null;
}

interface CreatedScimToken extends ScimTokenView {
  token: string;
  scim_url: string;
}

interface OrgOptions extends CommonOptions {
  org: string;
}

function tokensPath(org: string, id?: string): string {
  const base = `/orgs/${encodeURIComponent(org)}/scim-tokens`;
  return id === undefined ? base : `${base}/${encodeURIComponent(id)}`;
}

function parseDays(value: string): number {
  if (!/^\d{1,3}$/.test(value) || Number(value) < 1 || Number(value) > 730) {
    throw new CliError("--expires-in-days: a whole number of days from 1 to 730");
  }
  return Number(value);
}

/**
 * `mono-auth scim token create|list|delete --org ORG`: the bearer tokens an
 * org's directory (Okta, Entra ID, …) provisions people and groups with, at
 * the SCIM base URL the create command prints (workers/authn/src/scim/).
 */
export function registerScimCommands(program: Command): void {
  const token = program
    .command("scim")
    .description("SCIM 2.0 provisioning from an org's directory")
    .command("token")
    .description("an org's SCIM bearer tokens (shown once, stored hashed)");

  withCommonOptions(
    token
      .command("create")
      .description("create a token for the org's directory; give it and the printed SCIM URL to the directory")
      .requiredOption("--org <org>", "the organization's id")
      .option("--description <text>", "which directory it is for")
      .option("--expires-in-days <days>", "expire it after this many days (default: never)", parseDays),
  ).action(async (options: OrgOptions & { description?: string; expiresInDays?: number }) => {
    const created = await new AdminApi(options).request<CreatedScimToken>("POST", tokensPath(options.org), {
      ...(options.description ? { description: options.description } : {}),
      ...(options.expiresInDays ? { expires_in_days: options.expiresInDays } : {}),
    });
    printResult(options.json, created, () =>
      [
        keyValueTable([
          ["id", created.id],
          ["org_id", created.org_id],
          ["scim_url", created.scim_url],
          ["expires_at", created.expires_at ?? "never"],
        ]),
        "",
        "Token (shown once; the directory sends it as `Authorization: Bearer <token>`):",
        created.token,
      ].join("\n"),
    );
  });

  registerPagedList(token, {
    description: "the org's SCIM tokens, oldest first",
    org: "the organization's id",
    path: (org) => tokensPath(org),
    key: "scim_tokens",
    columns: ["id", "description", "created_at", "expires_at"],
    row: (t: ScimTokenView) => [t.id, t.description ?? "", t.created_at, t.expires_at ?? "never"],
  });

  withCommonOptions(
    token
      .command("delete")
      .description("delete a token: the directory's next request is refused")
      .requiredOption("--org <org>", "the organization's id")
      .requiredOption("--id <id>", "the token's id (sct_…)"),
  ).action(async (options: OrgOptions & { id: string }) => {
    // The token itself works until it is deleted: sent as the path it would reach the server's log, and the 404 would leave it working.
    const id = scimTokenId(options.id);
    if (id !== undefined) {
      throw new CliError(`--id takes the token's id, not the token itself (nothing was sent): its id is ${id}`);
    }
    const deleted = await new AdminApi(options).request<ScimTokenView>("DELETE", tokensPath(options.org, options.id));
    printResult(options.json, deleted, () => keyValueTable([["deleted", deleted.id]]));
  });
}
