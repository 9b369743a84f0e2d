import type { Command } from "commander";
import { AdminApi } from "../lib/admin-api.ts";
import { CliError } from "../lib/errors.ts";
import { type CommonOptions, withCommonOptions } from "../lib/options.ts";
import { columnsTable, keyValueTable, printResult } from "../lib/output.ts";

/** An organization as the admin API shows it (workers/token/src/admin/orgs.ts). */
interface Org {
  id: string;
  name: string;
  slug: string;
  created_at: string;
}

/** A deleted organization as the admin API answers it (workers/token/src/admin/org-deletion.ts). */
interface DeletedOrg extends Org {
  deleted: true;
  /** The `org` cut-off after the delete: recorded, or owed to the token Worker's cron (within five minutes). */
  cutoff: "recorded" | "owed";
}

/** An org's RFC 7591 switch as the admin API shows it (workers/token/src/admin/client-registration.ts). */
interface ClientRegistrationSetting {
  org_id: string;
  dynamic_client_registration: boolean;
  registration_endpoint: string;
  updated_at: string | null;
}

const ON_OFF: Record<string, boolean> = { on: true, off: false };

export function registerOrgCommands(program: Command): void {
  const org = program.command("org").description("organizations (tenants)");

  withCommonOptions(
    org
      .command("create")
      .description("create an organization; prints its id")
      .requiredOption("--name <name>", "its display name")
      .option("--slug <slug>", "its unique slug (default: made from the name)"),
  ).action(async (options: CommonOptions & { name: string; slug?: string }) => {
    const created = await new AdminApi(options).request<Org>("POST", "/orgs", {
      name: options.name,
      ...(options.slug ? { slug: options.slug } : {}),
    });
    printResult(options.json, created, () =>
      keyValueTable([
        ["id", created.id],
        ["name", created.name],
        ["slug", created.slug],
        ["created_at", created.created_at],
      ]),
    );
  });

  withCommonOptions(org.command("list").description("list the organizations")).action(
    async (options: CommonOptions) => {
      const listed = await new AdminApi(options).request<{ orgs: Org[] }>("GET", "/orgs");
      printResult(options.json, listed, () =>
        columnsTable(
          ["id", "name", "slug", "created_at"],
          listed.orgs.map((o) => [o.id, o.name, o.slug, o.created_at]),
        ),
      );
    },
  );

  withCommonOptions(
    org
      .command("set <org>")
      .description("change an organization's settings; prints them")
      .requiredOption(
        "--dcr <on|off>",
        "RFC 7591 dynamic client registration for the org's MCP clients (off by default)",
      ),
  ).action(async (orgId: string, options: CommonOptions & { dcr: string }) => {
    const on = ON_OFF[options.dcr];
    if (on === undefined) throw new CliError(`--dcr must be on or off, not ${options.dcr}`);
    const setting = await new AdminApi(options).request<ClientRegistrationSetting>(
      "PUT",
      `/orgs/${encodeURIComponent(orgId)}/client-registration`,
      { dynamic_client_registration: on },
    );
    printResult(options.json, setting, () =>
      keyValueTable([
        ["org_id", setting.org_id],
        ["dcr", setting.dynamic_client_registration ? "on" : "off"],
        ["registration_endpoint", setting.registration_endpoint],
        ["updated_at", setting.updated_at ?? ""],
      ]),
    );
  });

  withCommonOptions(
    org
      .command("delete <org>")
      .description(
        "delete an organization, its members and invitations; every token it issued is revoked first (cannot be undone)",
      )
      .option("--yes", "confirm the deletion (required: nothing asks interactively)"),
  ).action(async (orgId: string, options: CommonOptions & { yes?: boolean }) => {
    // Refused before any request: a script that forgot the flag deletes nothing.
    if (!options.yes) throw new CliError(`deleting organization ${orgId} cannot be undone; add --yes to confirm`);
    const deleted = await new AdminApi(options).request<DeletedOrg>("DELETE", `/orgs/${encodeURIComponent(orgId)}`);
    printResult(options.json, deleted, () =>
      keyValueTable([
        ["id", deleted.id],
        ["name", deleted.name],
        ["slug", deleted.slug],
        ["deleted", "yes"],
        ["cutoff", deleted.cutoff === "recorded" ? "recorded" : "owed (the cron records it within five minutes)"],
      ]),
    );
  });
}
