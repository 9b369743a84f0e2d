/**
 * A failure the person running the CLI can act on: bad input, a missing
 * profile, a refusal by the server. main.ts prints the message to stderr
 * and exits non-zero; nothing else is printed.
 */
export class CliError extends Error {
  override readonly name = "CliError";
}

/** The admin API or another endpoint answered with an error (shared/errors/json-error.ts shape). */
export class ServerRefusal extends CliError {
  // Plain fields, not parameter properties: Node's type stripping runs
  // only erasable TypeScript.
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, description: string, what: string) {
    super(`${what} refused (${status} ${code}): ${description}`);
    this.status = status;
    this.code = code;
  }
}

/** Reads the JSON error body every Mono-Auth endpoint answers with, whatever its protocol. */
export async function refusalFrom(response: Response, what: string): Promise<ServerRefusal> {
  let code = "unknown_error";
  let description = response.statusText || "no description";
  try {
    const body = (await response.json()) as { error?: unknown; error_description?: unknown };
    if (typeof body.error === "string") code = body.error;
    if (typeof body.error_description === "string") description = body.error_description;
  } catch {
    // Not JSON (a proxy in between?): the status says enough.
  }
  return new ServerRefusal(response.status, code, description, what);
}
