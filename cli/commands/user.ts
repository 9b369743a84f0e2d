import { type Command, Option } from "commander";
import { AdminApi } from "../lib/admin-api.ts";
import { CliError } from "../lib/errors.ts";
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

/** A person as the platform operators' list shows them (workers/token/src/admin/users.ts). */
interface PersonView {
  id: string;
  email: string;
  name: string;
  created_at: string;
  banned_at: string | null;
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

/** A live session as the admin API shows it (workers/token/src/admin/user-sessions.ts); never its token. */
interface SessionView {
  id: string;
  created_at: string;
  updated_at: string;
  expires_at: string;
  ip_address: string | null;
  user_agent: string | null;
  active_organization_id: string | null;
}

/** What a sign-out answers (workers/token/src/admin/user-sessions.ts). */
interface SignOutView {
  user_id: string;
  revoked_in_orgs: string[];
  sessions_ended: number;
}

/** What a membership change answers (workers/token/src/admin/member-changes.ts). */
interface MemberChangeView {
  org_id: string;
  user_id: string;
  role: string | null;
  previous_role: string;
  revoked: boolean;
}

const ROLES = ["owner", "admin", "member"];

function printMemberChange(json: boolean, change: MemberChangeView): void {
  printResult(json, change, () =>
    keyValueTable([
      ["org_id", change.org_id],
      ["user_id", change.user_id],
      ["role", change.role ?? "(removed)"],
      ["previous_role", change.previous_role],
      ["tokens_revoked", change.revoked ? "yes" : "no"],
    ]),
  );
}

const memberPath = (org: string, userId: string) =>
  `/orgs/${encodeURIComponent(org)}/members/${encodeURIComponent(userId)}`;

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
      .description(
        "list an organization's members and their roles (--org), or, for platform operators, people by address (--email) or the first 100 people",
      )
      .option("--org <org>", "the organization's id")
      .option("--email <address>", "an exact email address (without --org)"),
  ).action(async (options: CommonOptions & { org?: string; email?: string }) => {
    const api = new AdminApi(options);
    if (options.org === undefined) {
      // A person in no org (a ban's usual target) is found here, not through a member list.
      const query = options.email === undefined ? "" : `?email=${encodeURIComponent(options.email)}`;
      const listed = await api.request<{ users: PersonView[] }>("GET", `/users${query}`);
      printResult(options.json, listed, () =>
        columnsTable(
          ["user_id", "email", "name", "created_at", "banned_at"],
          listed.users.map((u) => [u.id, u.email, u.name, u.created_at, u.banned_at ?? "-"]),
        ),
      );
      return;
    }
    if (options.email !== undefined) throw new CliError("--email finds people across orgs: leave out --org");
    const listed = await api.request<{ members: MemberView[] }>(
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
      .requiredOption("--id <user_id>", "the person's user id (`user list --org` or `--email`)")
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

  withCommonOptions(
    user
      .command("sessions")
      .description("list a person's live sessions (platform operators; never a session token)")
      .requiredOption("--id <user_id>", "the person's user id"),
  ).action(async (options: CommonOptions & { id: string }) => {
    const listed = await new AdminApi(options).request<{ sessions: SessionView[] }>(
      "GET",
      `/users/${encodeURIComponent(options.id)}/sessions`,
    );
    printResult(options.json, listed, () =>
      columnsTable(
        ["id", "created_at", "updated_at", "expires_at", "ip_address", "user_agent", "active_org"],
        listed.sessions.map((s) => [
          s.id,
          s.created_at,
          s.updated_at,
          s.expires_at,
          s.ip_address ?? "-",
          s.user_agent ?? "-",
          s.active_organization_id ?? "-",
        ]),
      ),
    );
  });

  withCommonOptions(
    user
      .command("sign-out")
      .description(
        "sign a person out everywhere without a ban (platform operators): every token revoked in every org, sessions and OAuth tokens ended",
      )
      .requiredOption("--id <user_id>", "the person's user id"),
  ).action(async (options: CommonOptions & { id: string }) => {
    const signedOut = await new AdminApi(options).request<SignOutView>(
      "POST",
      `/users/${encodeURIComponent(options.id)}/sign-out`,
    );
    printResult(options.json, signedOut, () =>
      keyValueTable([
        ["user_id", signedOut.user_id],
        ["revoked_in_orgs", signedOut.revoked_in_orgs.join(" ") || "-"],
        ["sessions_ended", signedOut.sessions_ended],
      ]),
    );
  });

  withCommonOptions(
    user
      .command("remove")
      .description("remove a person from an organization; their tokens there are revoked (the last owner stays)")
      .requiredOption("--id <user_id>", "the person's user id")
      .requiredOption("--org <org>", "the organization's id"),
  ).action(async (options: CommonOptions & { id: string; org: string }) => {
    printMemberChange(
      options.json,
      await new AdminApi(options).request<MemberChangeView>("DELETE", memberPath(options.org, options.id)),
    );
  });

  withCommonOptions(
    user
      .command("role")
      .description("change a member's role; a demotion revokes their tokens in the organization")
      .requiredOption("--id <user_id>", "the person's user id")
      .requiredOption("--org <org>", "the organization's id")
      .addOption(new Option("--role <role>", "the new role").choices(ROLES).makeOptionMandatory()),
  ).action(async (options: CommonOptions & { id: string; org: string; role: string }) => {
    printMemberChange(
      options.json,
      await new AdminApi(options).request<MemberChangeView>("PATCH", memberPath(options.org, options.id), {
        role: options.role,
      }),
    );
  });
}
