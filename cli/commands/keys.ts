import type { Command } from "commander";
import { AdminApi } from "../lib/admin-api.ts";
import { CliError } from "../lib/errors.ts";
import { type CommonOptions, withCommonOptions } from "../lib/options.ts";
import { columnsTable, keyValueTable, printResult } from "../lib/output.ts";

/** A signing key as the admin API shows it (workers/token/src/admin/keys.ts): public facts only. */
interface KeyView {
  kid: string;
  status: string;
  created_at: string;
  retired_from_signing_at: string | null;
  retires_at: string | null;
}

interface RotationReport {
  current: string;
  next: string | null;
  promoted: { from: string | null; to: string } | null;
  retired: string[];
  created: string[];
}

export function registerKeysCommands(program: Command): void {
  const keys = program.command("keys").description("the issuer's signing keys (staged rotation)");

  withCommonOptions(
    keys.command("list").description("list the signing keys, newest first, retired ones included"),
  ).action(async (options: CommonOptions) => {
    const listed = await new AdminApi(options).request<{ keys: KeyView[] }>("GET", "/keys");
    printResult(options.json, listed, () =>
      columnsTable(
        ["kid", "status", "created_at", "stopped_signing", "leaves_jwks"],
        listed.keys.map((k) => [k.kid, k.status, k.created_at, k.retired_from_signing_at ?? "-", k.retires_at ?? "-"]),
      ),
    );
  });

  withCommonOptions(
    keys
      .command("rotate")
      .description(
        "promote the next key (refused with 409 conflict until it has been published long enough), or with --emergency retire a key at once",
      )
      .option("--emergency", "key compromise: retire the key now (it stops verifying) and sign with a new one", false)
      .option("--kid <kid>", "with --emergency: the key to retire (default: the current key)"),
  ).action(async (options: CommonOptions & { emergency: boolean; kid?: string }) => {
    if (options.kid !== undefined && !options.emergency) throw new CliError("--kid is only for --emergency");
    const report = await new AdminApi(options).request<RotationReport>("POST", "/keys/rotate", {
      ...(options.emergency ? { emergency: true } : {}),
      ...(options.kid ? { kid: options.kid } : {}),
    });
    printResult(options.json, report, () =>
      keyValueTable([
        ["current", report.current],
        ["next", report.next],
        ["promoted", report.promoted ? `${report.promoted.from ?? "-"} → ${report.promoted.to}` : "-"],
        ["retired", report.retired.join(" ") || "-"],
        ["created", report.created.join(" ") || "-"],
      ]),
    );
  });
}
