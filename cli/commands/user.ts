import type { Command } from "commander";
import { AdminApi } from "../lib/admin-api.ts";
import { type CommonOptions, withCommonOptions } from "../lib/options.ts";
import { columnsTable, keyValueTable, printResult } from "../lib/output.ts";

/** A member as the admin API shows it (workers/token/src/admin/members.ts). */
interface MemberView {
  user_id: string;
  email: string;
  name: string;
  role: string;
  joined_at: string;
}

/** What a ban answers (workers/token/src/admin/users.ts). */
interface BanView {
  user_id: string;
  banned: boolean;
  banned_at: string | null;
  reason: string | null;
  revoked_in_orgs: string[];
  sessions_ended: number;
}

function printBan(json: boolean, ban: BanView): void {
  printResult(json, ban, () =>
    keyValueTable([
      ["user_id", ban.user_id],
      ["banned", ban.banned ? "yes" : "no"],
      ["banned_at", ban.banned_at],
      ["reason", ban.reason],
      ["revoked_in_orgs", ban.revoked_in_orgs.join(" ") || "-"],
      ["sessions_ended", ban.sessions_ended],
    ]),
  );
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

  withCommonOptions(
    user
      .command("ban")
      .description(
        "ban a person (platform operators): no new session, every token they hold revoked in every org, their sessions ended",
      )
      .requiredOption("--id <user_id>", "the person's user id (`user list --org`)")
      .option("--reason <text>", "why, for the audit trail"),
  ).action(async (options: CommonOptions & { id: string; reason?: string }) => {
    const ban = await new AdminApi(options).request<BanView>(
      "POST",
      `/users/${encodeURIComponent(options.id)}/ban`,
      options.reason ? { reason: options.reason } : {},
    );
    printBan(options.json, ban);
  });

  withCommonOptions(
    user
      .command("unban")
      .description("lift a ban (what was revoked stays revoked)")
      .requiredOption("--id <user_id>", "the person's user id"),
  ).action(async (options: CommonOptions & { id: string }) => {
    printBan(
      options.json,
      await new AdminApi(options).request<BanView>("DELETE", `/users/${encodeURIComponent(options.id)}/ban`),
    );
  });
}
