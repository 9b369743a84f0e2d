import type { Command } from "commander";
import { AdminApi } from "../lib/admin-api.ts";
import { type CommonOptions, withCommonOptions } from "../lib/options.ts";
import { columnsTable, keyValueTable, printResult } from "../lib/output.ts";

/** An organization as the admin API shows it (workers/token/src/admin/orgs.ts). */
interface Org {
  id: string;
  name: string;
  slug: string;
  created_at: string;
}

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
}
