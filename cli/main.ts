import { Command, CommanderError } from "commander";
import { registerAccessRequestCommands } from "./commands/access-request.ts";
import { registerAuditCommands } from "./commands/audit.ts";
import { registerClientCommands } from "./commands/client.ts";
import { registerDelegationGrantCommands } from "./commands/delegation-grant.ts";
import { registerHostCommands } from "./commands/host.ts";
import { registerInitCommand } from "./commands/init.ts";
import { registerInviteCommands } from "./commands/invite.ts";
import { registerKeysCommands } from "./commands/keys.ts";
import { registerMcpCommands } from "./commands/mcp.ts";
import { registerOidcClientCommands } from "./commands/oidc-client.ts";
import { registerOperatorCommands } from "./commands/operator.ts";
import { registerOrgCommands } from "./commands/org.ts";
import { registerPolicyCommands } from "./commands/policy.ts";
import { registerRevocationCommands } from "./commands/revocations.ts";
import { registerRevokeCommand } from "./commands/revoke.ts";
import { registerUserCommands } from "./commands/user.ts";
import { registerVaultCommands } from "./commands/vault.ts";
import { registerSsfCommands } from "./commands/ssf.ts";
import { registerScimCommands } from "./commands/scim.ts";
import { CliError } from "./lib/errors.ts";
import { terminalText } from "./lib/output.ts";

/**
 * `mono-auth <noun> <verb> [--flags]` (DESIGN, "Operators and the CLI").
 * Every command takes `--url`, `--json` and `--profile`; results go to
 * stdout, errors to stderr with exit code 1.
 */
export function buildProgram(): Command {
  const program = new Command("mono-auth")
    .description("Mono-Auth's operator CLI: talks to the admin API of one issuer")
    // Usage errors throw instead of exiting, so run() owns the exit code.
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  registerInitCommand(program);
  registerOperatorCommands(program);
  registerOrgCommands(program);
  registerUserCommands(program);
  registerKeysCommands(program);
  registerClientCommands(program);
  registerInviteCommands(program);
  registerHostCommands(program);
  registerAuditCommands(program);
  registerPolicyCommands(program);
  registerRevokeCommand(program);
  registerRevocationCommands(program);
  registerMcpCommands(program);
  registerAccessRequestCommands(program);
  registerDelegationGrantCommands(program);
  registerVaultCommands(program);
  registerSsfCommands(program);
  registerOidcClientCommands(program);
  registerScimCommands(program);
  return program;
}

export async function run(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed its message (or the help) already.
      return error.exitCode;
    }
    if (error instanceof CliError) {
      process.stderr.write(`mono-auth: error: ${terminalText(error.message)}\n`);
      return 1;
    }
    process.stderr.write(
      `mono-auth: unexpected error: ${terminalText(error instanceof Error ? error.message : String(error))}\n`,
    );
    return 1;
  }
}
