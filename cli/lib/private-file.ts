import { writePrivateFile as write } from "../../scripts/private-file.mjs";
import { CliError } from "./errors.ts";

/**
 * A file that holds secrets, written fresh at 0600 and renamed over `path`
 * (scripts/private-file.mjs says why `writeFileSync`'s mode is not enough);
 * a failure is the CLI's error, with the path.
 */
export function writePrivateFile(path: string, text: string): void {
  try {
    write(path, text);
  } catch (error) {
    throw new CliError(`cannot write ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
