import { Command, CommanderError } from "commander";
import { CliError } from "./lib/errors.ts";
import { terminalText } from "./lib/output.ts";

type Register = (program: Command) => void;

/**
 * Every noun's commands, in the order help lists them. A run loads only the
 * modules of the noun it names: from the sources, loading every noun's was
 * half of a run's start-up; in the bundle (bundled-entry.mjs) the others
 * are never initialised. Help, and a word that is no noun, load them all.
 */
const NOUNS: readonly (readonly [noun: string, load: () => Promise<Register>])[] = [
  ["init", async () => (await import("./commands/init.ts")).registerInitCommand],
  ["operator", async () => (await import("./commands/operator.ts")).registerOperatorCommands],
  ["org", async () => (await import("./commands/org.ts")).registerOrgCommands],
  ["user", async () => (await import("./commands/user.ts")).registerUserCommands],
  ["keys", async () => (await import("./commands/keys.ts")).registerKeysCommands],
  ["client", async () => (await import("./commands/client.ts")).registerClientCommands],
  ["invite", async () => (await import("./commands/invite.ts")).registerInviteCommands],
  ["host", async () => (await import("./commands/host.ts")).registerHostCommands],
  ["audit", async () => (await import("./commands/audit.ts")).registerAuditCommands],
  ["policy", async () => (await import("./commands/policy.ts")).registerPolicyCommands],
  ["revoke", async () => (await import("./commands/revoke.ts")).registerRevokeCommand],
  ["revocations", async () => (await import("./commands/revocations.ts")).registerRevocationCommands],
  ["mcp", async () => (await import("./commands/mcp.ts")).registerMcpCommands],
  ["access-request", async () => (await import("./commands/access-request.ts")).registerAccessRequestCommands],
  ["delegation-grant", async () => (await import("./commands/delegation-grant.ts")).registerDelegationGrantCommands],
  ["vault", async () => (await import("./commands/vault.ts")).registerVaultCommands],
  ["ssf", async () => (await import("./commands/ssf.ts")).registerSsfCommands],
  ["oidc-client", async () => (await import("./commands/oidc-client.ts")).registerOidcClientCommands],
  ["scim", async () => (await import("./commands/scim.ts")).registerScimCommands],
];

/**
 * `mono-auth <noun> <verb> [--flags]` (DESIGN, "Operators and the CLI").
 * Every command takes `--url`, `--json` and `--profile`; results go to
 * stdout, errors to stderr with exit code 1.
 */
export async function buildProgram(noun?: string): Promise<Command> {
  const program = new Command("mono-auth")
    .description("Mono-Auth's operator CLI: talks to the admin API of one issuer")
    // Usage errors throw instead of exiting, so run() owns the exit code.
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  const named = NOUNS.filter(([name]) => name === noun);
  const registers = await Promise.all((named.length > 0 ? named : NOUNS).map(([, load]) => load()));
  for (const register of registers) register(program);
  return program;
}

export async function run(argv: readonly string[]): Promise<number> {
  // argv: [node, script, noun, …]; a flag there (--help, --version) is no noun.
  const first = argv[2];
  const program = await buildProgram(first?.startsWith("-") ? undefined : first);
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
