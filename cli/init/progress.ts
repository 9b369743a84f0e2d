/**
 * Progress of long work, on stderr (stdout is the command's result, one
 * JSON document with --json): `[2/5] migrations of DB…`. Silent with
 * --json, so a script reads nothing but the document and errors.
 */
export interface Progress {
  step(title: string): void;
}

export function progressOn(total: number, quiet: boolean): Progress {
  let done = 0;
  return {
    step(title) {
      done += 1;
      if (!quiet) process.stderr.write(`[${done}/${total}] ${title}…\n`);
    },
  };
}
