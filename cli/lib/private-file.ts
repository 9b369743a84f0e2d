import { randomUUID } from "node:crypto";
import { chmodSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { CliError } from "./errors.ts";

/**
 * Writes a file that holds secrets: under a fresh name (`wx`: never a file
 * or link someone placed there), mode 0600 whatever the umask, then renamed
 * over `path` at once. `writeFileSync(path, …, { mode })` is not enough: the
 * mode applies only when it creates the file, so an existing one (a
 * `.dev.vars` copied from its example at 0644) kept its looser mode with
 * the secrets now in it, and it was rewritten in place, half-written if
 * the write failed.
 */
export function writePrivateFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${randomUUID()}.tmp`;
  try {
    writeFileSync(temporary, text, { mode: 0o600, flag: "wx" });
    chmodSync(temporary, 0o600);
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new CliError(`cannot write ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
