import { type Command, Option } from "commander";
import { MAX_HOST_INVITE_TTL_SECONDS } from "../../shared/contracts/tokens.ts";
import { AdminApi } from "../lib/admin-api.ts";
import { CliError } from "../lib/errors.ts";
import {
  type CommonOptions,
  collectLabel,
  parseAudiences,
  parseDuration,
  parseScopes,
  withCommonOptions,
} from "../lib/options.ts";
import { keyValueTable, printResult } from "../lib/output.ts";

/** What the admin API answers (workers/token/src/admin/invites.ts). */
interface CreatedInvite {
  invite: string;
  jti: string;
  org_id: string;
  expires_at: string;
  scopes: string[];
  audiences: string[];
  labels: Record<string, string>;
  bootstrap_endpoint: string;
}

export function registerInviteCommands(program: Command): void {
  const invite = program.command("invite").description("host invites (single-use, for `host bootstrap`)");

  withCommonOptions(
    invite
      .command("create")
      .description("create a single-use host invite; give the printed JWT to the host (`mono-auth host bootstrap`)")
      .requiredOption("--org <org>", "the organization the host will belong to")
      .requiredOption("--scopes <scopes>", 'the scopes the host may be granted, space-separated ("a b")', parseScopes)
      .option(
        "--audiences <audiences>",
        "the audiences the host may get tokens for, space-separated (default: every audience the issuer serves)",
        parseAudiences,
      )
      .addOption(
        new Option("--ttl <duration>", "how long the invite is valid: 90s, 30m, 1h … at most 24h")
          .argParser(parseDuration)
          .default(3600, "1h"),
      )
      .option("--label <key=value>", "a label for the host (repeatable)", collectLabel),
  ).action(
    async (
      options: CommonOptions & {
        org: string;
        scopes: string[];
        audiences?: string[];
        ttl: number;
        label?: Record<string, string>;
      },
    ) => {
      if (options.ttl > MAX_HOST_INVITE_TTL_SECONDS) throw new CliError("--ttl: an invite lives at most 24h");
      const created = await new AdminApi(options).request<CreatedInvite>(
        "POST",
        `/orgs/${encodeURIComponent(options.org)}/invites`,
        {
          scopes: options.scopes,
          ttl_seconds: options.ttl,
          ...(options.audiences ? { audiences: options.audiences } : {}),
          ...(options.label ? { labels: options.label } : {}),
        },
      );
      printResult(options.json, created, () =>
        [
          keyValueTable([
            ["jti", created.jti],
            ["org_id", created.org_id],
            ["expires_at", created.expires_at],
            ["scopes", created.scopes.join(" ")],
            ["audiences", created.audiences.join(" ")],
            [
              "labels",
              Object.entries(created.labels)
                .map(([k, v]) => `${k}=${v}`)
                .join(" ") || "-",
            ],
          ]),
          "",
          "Invite (single use; the host runs `npx mono-auth host bootstrap --invite <this>`):",
          created.invite,
        ].join("\n"),
      );
    },
  );
}
