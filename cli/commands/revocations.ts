import { type Command, InvalidArgumentError } from "commander";
import type { RevocationChanges, RevocationStreamMessage } from "../../shared/contracts/revocation.ts";
import { AdminApi } from "../lib/admin-api.ts";
import { CliError } from "../lib/errors.ts";
import { terminalText } from "../lib/output.ts";
import { type CommonOptions, withCommonOptions } from "../lib/options.ts";

interface WatchOptions extends CommonOptions {
  org: string;
  after?: number;
  count?: number;
}

function parseSeq(value: string): number {
  if (!/^\d{1,15}$/.test(value)) throw new InvalidArgumentError("Use a seq: a whole number, 0 or more.");
  return Number(value);
}

function parseCount(value: string): number {
  const n = /^\d{1,6}$/.test(value) ? Number(value) : 0;
  if (n < 1) throw new InvalidArgumentError("Use a whole number from 1 to 999999.");
  return n;
}

function line(message: RevocationStreamMessage, json: boolean): string {
  if (json) return JSON.stringify(message);
  if (message.type === "resync")
    return `resync  version ${message.version} (the events before it were pruned, or were more than one page behind; the admin API's revocations?after= lists them)`;
  const at = new Date(message.revoked_at * 1000).toISOString();
  // The value and reason are whoever revoked's words: escaped, never run by the terminal.
  return terminalText(
    `${message.seq}  ${at}  ${message.kind}  ${message.value}  ${message.reason}`.replace(/[\r\n\t]/g, " "),
  );
}

/** The `data:` of each complete SSE event in `buffer`, and what is left of it (WHATWG HTML, server-sent events). */
function takeEvents(buffer: string): { events: string[]; rest: string } {
  const blocks = buffer.replace(/\r\n?/g, "\n").split("\n\n");
  const rest = blocks.pop() ?? "";
  const events = blocks.flatMap((block) => {
    const data = block
      .split("\n")
      .filter((field) => field.startsWith("data:"))
      .map((field) => field.slice(5).replace(/^ /, ""));
    return data.length > 0 ? [data.join("\n")] : [];
  });
  return { events, rest };
}

/**
 * `mono-auth revocations watch --org ORG [--after N]`: prints the org's
 * revocations after seq N (default: from now on) as they are recorded,
 * over Server-Sent Events from the admin API's stream. When the stream ends
 * (the org's object restarted) it reconnects after the last seq it printed,
 * so nothing is printed twice or skipped; a refused reconnection ends it with
 * the error. Ctrl-C exits 0.
 */
export function registerRevocationCommands(program: Command): void {
  const revocations = program.command("revocations").description("an org's recorded revocations");

  withCommonOptions(
    revocations
      .command("watch")
      .description("print an org's revocations as they are recorded (--json: one JSON object per line)")
      .requiredOption("--org <org>", "the organization's id")
      .option("--after <seq>", "start after this seq (default: only new ones)", parseSeq)
      .option("--count <n>", "exit after printing this many revocations", parseCount),
  ).action(async (options: WatchOptions) => {
    await watch(options);
  });
}

/** Between a stream that ended and the next connection: no tight loop against a server that keeps closing. */
const RECONNECT_DELAY_MS = 1000;

async function watch(options: WatchOptions): Promise<void> {
  const stop = new AbortController();
  const onInterrupt = () => stop.abort();
  process.once("SIGINT", onInterrupt);
  let printed = 0;
  try {
    // "From now on" is pinned to a seq at once, so a reconnection before the
    // first event still resumes from there, not from a later "now".
    let after =
      options.after ??
      (
        await new AdminApi(options).request<RevocationChanges>(
          "GET",
          `/orgs/${encodeURIComponent(options.org)}/revocations?after=0`,
        )
      ).version;
    for (let attempt = 0; !stop.signal.aborted; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, RECONNECT_DELAY_MS));
      // A fresh operator token per connection: the stream outlives the token it was opened with.
      const api = new AdminApi(options);
      const response = await api.open(
        `/orgs/${encodeURIComponent(options.org)}/revocations/stream?after=${after}`,
        { Accept: "text/event-stream" },
        stop.signal,
      );
      if (!response.body) throw new CliError("the revocation stream answered without a body");
      let buffer = "";
      for await (const chunk of response.body.pipeThrough(new TextDecoderStream())) {
        const { events, rest } = takeEvents(buffer + chunk);
        buffer = rest;
        for (const data of events) {
          const message = JSON.parse(data) as RevocationStreamMessage;
          after = message.type === "revocation" ? message.seq : message.version;
          process.stdout.write(`${line(message, options.json)}\n`);
          if (message.type === "revocation") printed += 1;
          if (options.count !== undefined && printed >= options.count) return;
        }
      }
    }
  } catch (error) {
    // Ctrl-C aborts the open request or the read: a clean exit, not an error.
    if (stop.signal.aborted) return;
    throw error;
  } finally {
    process.off("SIGINT", onInterrupt);
    stop.abort();
  }
}
