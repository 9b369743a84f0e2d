import { readFileSync } from "node:fs";
import { InvalidArgumentError } from "commander";
import { CliError } from "./errors.ts";

/** What an option taking a secret says about reading it from stdin. */
export const FROM_STDIN = "; `-` reads it from stdin (a value on the command line shows in `ps` and shell history)";

/**
 * A secret option's value (`--invite`, `--client-secret`, `--authorization`):
 * given as `-`, read from stdin, one trailing newline dropped (what `echo`
 * and a here-string add). On the command line, a secret is in every other
 * user's `ps` for as long as the CLI runs (long enough to redeem an invite
 * first, with a key of one's own) and in the shell's history after.
 */
export function secretArgument(value: string): string {
  if (value !== "-") return value;
  let text: string;
  try {
    text = readFileSync(0, "utf8");
  } catch (error) {
    throw new InvalidArgumentError(`cannot read stdin: ${error instanceof Error ? error.message : String(error)}`);
  }
  const secret = text.replace(/\r?\n$/, "");
  if (secret === "" || secret.includes("\n")) throw new InvalidArgumentError("stdin must hold the value on one line.");
  return secret;
}

/** One of our secrets (shared/crypto/secret-hash.ts): a client secret, or a SCIM token's secret half. */
const OUR_SECRET = /mas_[A-Za-z0-9_-]{43}/;

/**
 * Refuses, before anything is sent, a secret pasted where an id belongs
 * (`mas_…` for `mac_…`): sent, it would reach the server's log and the
 * audit's request, and the refusal that answered it would leave it working.
 * Not a commander argument parser: commander's refusal repeats the value.
 */
export function refusePastedSecret(flag: string, value: string | undefined): void {
  if (value !== undefined && OUR_SECRET.test(value)) {
    throw new CliError(`${flag} takes an id, not a secret (nothing was sent)`);
  }
}
