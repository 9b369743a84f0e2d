import { type Command, InvalidArgumentError, Option } from "commander";
import { AdminApi } from "../lib/admin-api.ts";
import { CliError } from "../lib/errors.ts";
import { type CommonOptions, parseDuration, parsePositive, withCommonOptions } from "../lib/options.ts";
import { columnsTable, keyValueTable, printResult, terminalText } from "../lib/output.ts";
import { operatorFor } from "../lib/profile.ts";
import type {
  AuditEventView as AuditEvent,
  QueryPage as EventPage,
  VerifyReport,
} from "../../shared/contracts/audit-trail.ts";

/** The search filters `query` and `tail` share, as the admin API names them. */
interface FilterOptions {
  org?: string;
  subject?: string;
  actor?: string;
  client?: string;
  kind?: string;
  outcome?: string;
  decision?: string;
}

const OUTCOMES = ["allow", "deny", "issued", "refused", "recorded"] as const;

/**
 * `--from` / `--to`: an ISO 8601 time, epoch milliseconds, or a span ago
 * (`90s`, `15m`, `2h`, `7d`), sent as ISO 8601.
 */
export function parseTime(value: string): string {
  if (/^\d+[smhd]$/.test(value)) return new Date(Date.now() - parseDuration(value) * 1000).toISOString();
  const time = /^\d{1,15}$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(time)) {
    throw new InvalidArgumentError("Use an ISO 8601 time, epoch milliseconds, or a span ago such as 15m or 2h.");
  }
  return new Date(time).toISOString();
}

function withFilters(command: Command): Command {
  return command
    .option("--org <org>", "an organization's id, or platform for events of no org")
    .option("--subject <subject>", "the subject (a user id or a client id)")
    .option("--actor <actor>", "the agent that acted for the subject")
    .option("--client <client_id>", "the OAuth client")
    .option("--kind <kind>", "an event kind (gateway.decision), or a prefix ending in .* (host_invite.*)")
    .option("--outcome <outcome>", `one of ${OUTCOMES.join(", ")}`)
    .option("--decision <id>", "a gateway decision id (a 403 answer names it)");
}

function filterParameters(options: FilterOptions): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ["org", "subject", "actor", "client", "kind", "outcome", "decision"] as const) {
    const value = options[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

function eventsPath(parameters: Record<string, string>): string {
  return `/audit/events?${new URLSearchParams(parameters)}`;
}

function eventRows(events: readonly AuditEvent[]): string[][] {
  return events.map((e) => [
    e.occurred_at,
    e.kind,
    e.outcome,
    e.chain,
    e.seq === null ? "-" : String(e.seq),
    e.subject ?? "-",
    e.actor ?? "-",
    e.client_id ?? "-",
    e.id,
  ]);
}

const EVENT_COLUMNS = ["occurred_at", "kind", "outcome", "org", "seq", "subject", "actor", "client", "id"];

export function registerAuditCommands(program: Command): void {
  const audit = program.command("audit").description("the audit trail: search it, verify its hash chains, follow it");

  withCommonOptions(
    withFilters(audit.command("query").description("search audit events, newest first, one page at a time"))
      .option("--from <time>", "events at or after: ISO 8601, epoch ms, or a span ago (15m, 2h, 7d)", parseTime)
      .option("--to <time>", "events before: ISO 8601, epoch ms, or a span ago", parseTime)
      .option("--limit <n>", "events per page (1-200, default 50)", parsePositive(200))
      .option("--cursor <cursor>", "the next page: the cursor a previous query printed"),
  ).action(
    async (
      options: CommonOptions & FilterOptions & { from?: string; to?: string; limit?: number; cursor?: string },
    ) => {
      const page = await new AdminApi(options).request<EventPage>(
        "GET",
        eventsPath({
          ...filterParameters(options),
          ...(options.from ? { from: options.from } : {}),
          ...(options.to ? { to: options.to } : {}),
          ...(options.limit ? { limit: String(options.limit) } : {}),
          ...(options.cursor ? { cursor: options.cursor } : {}),
        }),
      );
      printResult(options.json, page, () =>
        [
          columnsTable(EVENT_COLUMNS, eventRows(page.events)),
          ...(page.next_cursor ? ["", `more: --cursor ${page.next_cursor}`] : []),
        ].join("\n"),
      );
    },
  );

  withCommonOptions(
    audit
      .command("verify")
      .description("walk an org's hash chain and name the first broken link; exits 1 if there is one")
      .requiredOption("--org <org>", "an organization's id, or platform for events of no org")
      .option("--after <seq:hash>", "start after a head an earlier verify printed (its last_seq:last_hash)"),
  ).action(async (options: CommonOptions & { org: string; after?: string }) => {
    const api = new AdminApi(options);
    let cursor = options.after;
    let checked = 0;
    let pages = 0;
    let report: VerifyReport;
    do {
      const parameters = new URLSearchParams({ org: options.org, ...(cursor ? { cursor } : {}) });
      report = await api.request<VerifyReport>("GET", `/audit/verify?${parameters}`);
      checked += report.rows_checked;
      pages += 1;
      cursor = report.next_cursor ?? undefined;
    } while (report.ok && !report.complete && cursor);
    const result = { ...report, rows_checked: checked, pages };
    printResult(options.json, result, () =>
      keyValueTable([
        ["org", result.org],
        ["ok", result.ok ? "yes" : "NO"],
        ["rows_checked", result.rows_checked],
        ["last_seq", result.last_seq],
        ["last_hash", result.last_hash],
        ...(result.broken
          ? ([
              ["broken", result.broken.reason],
              ["at_id", result.broken.id],
              ["at_seq", result.broken.seq],
              ["expected_seq", result.broken.expected_seq],
              ["expected_hash", result.broken.expected_hash],
              ["found_hash", result.broken.found_hash],
            ] as [string, string | number | null][])
          : []),
      ]),
    );
    if (result.broken) {
      throw new CliError(
        `the audit chain of ${result.org} is broken at seq ${result.broken.seq ?? "?"} (${result.broken.reason})`,
      );
    }
  });

  withCommonOptions(
    withFilters(audit.command("tail").description("print recent events, then new ones as they land (polls)"))
      .option("--lines <n>", "recent events to print first", parsePositive(200), 10)
      .addOption(new Option("--interval <span>", "between polls").argParser(parseDuration).default(2, "2s"))
      .option("--count <n>", "exit after printing this many events", parsePositive(100_000)),
  ).action(async (options: CommonOptions & FilterOptions & { lines: number; interval: number; count?: number }) => {
    await tail(options);
  });
}

/**
 * Events land through the audit Queue a second or so after they happen, not
 * in time order; each poll therefore asks again for the last LOOKBACK_MS and
 * prints what it has not printed yet. An event that lands later than that
 * (a batch replayed from the dead-letter queue) is not printed.
 */
const LOOKBACK_MS = 60_000;
const PAGES_PER_POLL = 5;

async function tail(
  options: CommonOptions & FilterOptions & { lines: number; interval: number; count?: number },
): Promise<void> {
  const api = new AdminApi(options);
  // Its own polls are admin calls, audited in the platform chain: never print them.
  const self = operatorFor(options.profile, options.url).client_id;
  const seen = new Map<string, number>();
  let printed = 0;
  const filters = filterParameters(options);
  const print = (events: readonly AuditEvent[]): boolean => {
    for (const event of [...events].reverse()) {
      seen.set(event.id, Date.parse(event.occurred_at));
      const own = event.client_id === self && (event.detail as { action?: unknown })?.action === "audit.query";
      if (own) continue;
      process.stdout.write(
        options.json ? `${JSON.stringify(event)}\n` : `${terminalText(eventRows([event])[0]?.join("  ") ?? "")}\n`,
      );
      printed += 1;
      if (options.count !== undefined && printed >= options.count) return true;
    }
    return false;
  };

  /** The events of the lookback window (newest first) that nothing printed or passed over yet. */
  const unseenSince = async (from: number): Promise<AuditEvent[]> => {
    const unseen: AuditEvent[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < PAGES_PER_POLL; page++) {
      const answer: EventPage = await api.request<EventPage>(
        "GET",
        eventsPath({ ...filters, from: new Date(from).toISOString(), limit: "200", ...(cursor ? { cursor } : {}) }),
      );
      unseen.push(...answer.events.filter((e) => !seen.has(e.id)));
      cursor = answer.next_cursor;
      if (!cursor) break;
    }
    return unseen;
  };

  // What had landed before the tail began is history, of which only the
  // --lines most recent are shown: pass over the rest of the window first,
  // or the first poll would print it as new.
  for (const event of await unseenSince(Date.now() - LOOKBACK_MS)) seen.set(event.id, Date.parse(event.occurred_at));
  const recent = await api.request<EventPage>("GET", eventsPath({ ...filters, limit: String(options.lines) }));
  if (!options.json) process.stdout.write(`${EVENT_COLUMNS.join("  ")}\n`);
  if (print(recent.events)) return;
  let stopped = false;
  process.once("SIGINT", () => {
    stopped = true;
  });
  while (!stopped) {
    await new Promise((resolve) => setTimeout(resolve, options.interval * 1000));
    const from = Date.now() - LOOKBACK_MS;
    if (print(await unseenSince(from))) return;
    // Forget what is older than any later poll will ask for.
    for (const [id, at] of seen) if (at < from) seen.delete(id);
  }
}
