import type { Command } from "commander";
import type { RevocationKind } from "../../shared/contracts/revocation.ts";
import { AdminApi } from "../lib/admin-api.ts";
import { CliError } from "../lib/errors.ts";
import { type CommonOptions, withCommonOptions } from "../lib/options.ts";
import { keyValueTable, printResult } from "../lib/output.ts";
import { refusePastedSecret } from "../lib/secret-argument.ts";

/** The admin API's answer (workers/token/src/admin/revocations.ts). */
interface RecordedRevocation {
  org_id: string;
  seq: number;
  kind: RevocationKind;
  value: string;
  reason: string;
}

interface RevokeOptions extends CommonOptions {
  org: string;
  jti?: string;
  session?: string;
  subject?: string;
  client?: string;
  grant?: string;
  all?: boolean;
  reason?: string;
}

/** Exactly one target flag, as the kind and value the admin API records. */
function target(options: RevokeOptions): { kind: RevocationKind; value?: string } {
  const given: { kind: RevocationKind; value?: string }[] = [];
  if (options.jti !== undefined) given.push({ kind: "jti", value: options.jti });
  if (options.session !== undefined) given.push({ kind: "session", value: options.session });
  if (options.subject !== undefined) given.push({ kind: "subject", value: options.subject });
  if (options.client !== undefined) given.push({ kind: "client", value: options.client });
  if (options.grant !== undefined) given.push({ kind: "grant", value: options.grant });
  if (options.all) given.push({ kind: "org" });
  const [only] = given;
  if (given.length !== 1 || !only) {
    throw new CliError("name exactly one of --jti, --session, --subject, --client, --grant or --all");
  }
  return only;
}

/**
 * `mono-auth revoke --org ORG (--jti X | --session X | --subject X |
 * --client X | --grant X | --all)`: records the revocation in the org's Durable Object
 * through the admin API; it prints only once the revocation is recorded.
 */
export function registerRevokeCommand(program: Command): void {
  withCommonOptions(
    program
      .command("revoke")
      .description("revoke a token, a session, a subject, a client, or everything an org issued until now")
      .requiredOption("--org <org>", "the organization's id")
      .option("--jti <jti>", "one access token, by its jti")
      .option("--session <id>", "every token minted for a session")
      .option("--subject <sub>", "every token issued until now to a user or machine")
      .option("--client <client_id>", "every token issued until now to a client, or naming it in act")
      .option("--grant <grant_id>", "every token minted under a delegation grant (its grant_id)")
      .option("--all", "every token the org issued until now (kill switch)")
      .option("--reason <text>", "why, for the audit trail and subscribers"),
  ).action(async (options: RevokeOptions) => {
    const { kind, value } = target(options);
    refusePastedSecret(`--${kind}`, value);
    const recorded = await new AdminApi(options).request<RecordedRevocation>(
      "POST",
      `/orgs/${encodeURIComponent(options.org)}/revocations`,
      { kind, ...(value === undefined ? {} : { value }), ...(options.reason ? { reason: options.reason } : {}) },
    );
    printResult(options.json, recorded, () =>
      keyValueTable([
        ["org", recorded.org_id],
        ["seq", recorded.seq],
        ["kind", recorded.kind],
        ["value", recorded.value],
        ["reason", recorded.reason],
      ]),
    );
  });
}
