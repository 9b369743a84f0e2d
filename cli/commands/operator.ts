import { resolve } from "node:path";
import type { Command } from "commander";
import { adminAudience } from "../../shared/contracts/endpoints.ts";
import { generateClientId } from "../../shared/crypto/client-id.ts";
import { generateClientSecret, hashSecret } from "../../shared/crypto/secret-hash.ts";
import { generateDpopKey } from "../lib/dpop.ts";
import { CliError } from "../lib/errors.ts";
import { CHECKOUT_ROOT, type CommonOptions, withCommonOptions } from "../lib/options.ts";
import { keyValueTable, printResult } from "../lib/output.ts";
import { writePrivateFile } from "../lib/private-file.ts";
import { saveOperator } from "../lib/profile.ts";
import { runWrangler } from "../lib/wrangler.ts";
import { normaliseEmail, operatorBootstrapStatements } from "../operator/bootstrap-sql.ts";

interface BootstrapOptions extends CommonOptions {
  email: string;
  remote: boolean;
  persistTo: string;
  config: string;
  sqlOut?: string;
  dpop: boolean;
}

/**
 * `operator bootstrap`: the first platform operator, written straight to
 * D1 through wrangler, so it works before any operator (and so any admin
 * API caller) exists. Whoever can write the database can do this; the
 * admin API itself never creates operators.
 */
export function registerOperatorCommands(program: Command): void {
  const operator = program.command("operator").description("platform operators");
  withCommonOptions(
    operator
      .command("bootstrap")
      .description(
        "create a platform operator and its admin client in D1 through wrangler (works before any operator exists); prints the client secret once and stores it in the profile",
      )
      .requiredOption("--email <email>", "the operator's email (their Better Auth user is created if absent)")
      .option("--remote", "write to the deployed D1 database instead of the local one", false)
      .option(
        "--persist-to <dir>",
        "wrangler's local state directory (as `npm start` uses)",
        resolve(CHECKOUT_ROOT, ".wrangler/state"),
      )
      .option(
        "--config <file>",
        "a wrangler config that binds the main database as DB",
        resolve(CHECKOUT_ROOT, "wrangler.toml"),
      )
      .option(
        "--sql-out <file>",
        "write the SQL to this file instead of running wrangler (apply it with `wrangler d1 execute DB --file`)",
      )
      .option(
        "--dpop",
        "register the client to require DPoP-bound tokens (RFC 9449) and keep its ES256 DPoP key in the profile",
        false,
      ),
  ).action(async (options: BootstrapOptions) => {
    const email = normaliseEmail(options.email);
    if (!email) throw new CliError(`--email: "${options.email}" is not an email address this command accepts`);
    const clientId = generateClientId();
    const clientSecret = generateClientSecret();
    const dpop = options.dpop ? await generateDpopKey() : undefined;
    const statements = operatorBootstrapStatements({
      email,
      userId: crypto.randomUUID().replaceAll("-", ""),
      clientId,
      secretHash: await hashSecret(clientSecret),
      audience: adminAudience(options.url),
      requireDpop: dpop !== undefined,
      now: Date.now(),
    });
    if (options.sqlOut) {
      writePrivateFile(options.sqlOut, `${statements.map((s) => `${s};`).join("\n")}\n`);
    } else {
      const target = options.remote ? ["--remote", "--yes"] : ["--local", "--persist-to", options.persistTo];
      runWrangler(["d1", "execute", "DB", ...target, "-c", options.config, "--command", statements.join("; ")]);
    }
    // Stored only once the rows are written (or handed over as SQL).
    saveOperator(options.profile, options.url, {
      client_id: clientId,
      client_secret: clientSecret,
      email,
      created_at: new Date().toISOString(),
      ...(dpop ? { dpop_private_jwk: dpop.privateJwk } : {}),
    });
    const result = {
      issuer: options.url,
      email,
      client_id: clientId,
      client_secret: clientSecret,
      profile: options.profile,
      ...(dpop ? { dpop_jkt: dpop.key.jkt } : {}),
      ...(options.sqlOut ? { sql_file: options.sqlOut } : {}),
    };
    printResult(options.json, result, () =>
      [
        keyValueTable([
          ["issuer", result.issuer],
          ["operator", email],
          ["client_id", clientId],
          ["client_secret", clientSecret],
          ["profile", options.profile],
          ...(dpop ? ([["dpop_jkt", `${dpop.key.jkt} (DPoP required; key in the profile)`]] as const) : []),
          ...(options.sqlOut ? ([["sql_file", options.sqlOut]] as const) : []),
        ]),
        "",
        "The client secret is shown only this once; the CLI keeps it in the profile (mode 0600).",
        ...(options.sqlOut
          ? [`Apply the SQL before using it: npx wrangler d1 execute DB --file ${options.sqlOut} (--local or --remote)`]
          : []),
      ].join("\n"),
    );
  });
}
