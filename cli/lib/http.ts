import { CliError } from "./errors.ts";

/** fetch, with an unreachable server turned into a message a person can act on. */
export async function send(url: string, init: RequestInit = {}): Promise<Response> {
  try {
    // No redirects: every URL the CLI calls is the issuer's own.
    return await fetch(url, { redirect: "error", ...init });
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
    throw new CliError(`cannot reach ${url}${cause || (error instanceof Error ? `: ${error.message}` : "")}`);
  }
}
