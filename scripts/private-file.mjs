import { randomUUID } from "node:crypto";
import { chmodSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Writes a file that holds secrets (dev secrets, a Worker's .dev.vars, an
 * operator's SQL): under a fresh name (`wx`: never a file or link someone
 * placed there), mode 0600 whatever the umask, then renamed over `path` at
 * once. `writeFileSync(path, …, { mode })` is not enough: the mode applies
 * only when it creates the file, so an existing one (a `.dev.vars` copied
 * from its example at 0644) kept its looser mode with the secrets now in
 * it, was written through a link placed at its path, and was half-written
 * if the write failed. `npm start` (scripts/start.mjs) and the CLI
 * (cli/lib/private-file.ts) both write through here.
 *
 * @param {string} path
 * @param {string} text
 */
export function writePrivateFile(path, text) {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${randomUUID()}.tmp`;
  try {
    writeFileSync(temporary, text, { mode: 0o600, flag: "wx" });
    chmodSync(temporary, 0o600);
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}
