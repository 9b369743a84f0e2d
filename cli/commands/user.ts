import type { Command } from "commander";
import { AdminApi } from "../lib/admin-api.ts";
import { type CommonOptions, withCommonOptions } from "../lib/options.ts";
import { columnsTable, printResult } from "../lib/output.ts";

/** A member as the admin API shows it (workers/token/src/admin/members.ts). */
interface MemberView {
  user_id: string;
  email: string;
  name: string;
  role: string;
  joined_at: string;
}

export function registerUserCommands(program: Command): void {
  const user = program.command("user").description("people (Better Auth users) and their organizations");

  withCommonOptions(
    user
      .command("list")
      .description("list an organization's members and their roles")
      .requiredOption("--org <org>", "the organization's id"),
  ).action(async (options: CommonOptions & { org: string }) => {
    const listed = await new AdminApi(options).request<{ members: MemberView[] }>(
      "GET",
      `/orgs/${encodeURIComponent(options.org)}/members`,
    );
    printResult(options.json, listed, () =>
      columnsTable(
        ["user_id", "email", "name", "role", "joined_at"],
        listed.members.map((m) => [m.user_id, m.email, m.name, m.role, m.joined_at]),
      ),
    );
  });
}
