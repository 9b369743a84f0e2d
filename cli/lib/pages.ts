import type { Command } from "commander";
import { AdminApi } from "./admin-api.ts";
import { type CommonOptions, parsePositive, withCommonOptions } from "./options.ts";
import { columnsTable, printResult } from "./output.ts";

/** The admin API's largest page (workers/token/src/admin/page.ts). */
const MAX_PAGE = 500;

export interface PageOptions {
  limit?: number;
  cursor?: string;
}

/** `--limit` and `--cursor` for a list the admin API pages (`?limit=&cursor=` → `next_cursor`). */
function withPageOptions(command: Command): Command {
  return command
    .option(
      "--limit <n>",
      `one page of at most n rows (1-${MAX_PAGE}); without it or --cursor, every row`,
      parsePositive(MAX_PAGE),
    )
    .option("--cursor <cursor>", "one page, after the cursor a previous page printed");
}

/**
 * A paged admin list. With `--limit` or `--cursor`, the one page asked for
 * and its `next_cursor`; with neither, every page in turn, so `list` means
 * the whole list as it did before the API paged (`next_cursor` then null).
 * `filters` (a list's own query parameters, such as `status`) go with every
 * page: a cursor pages within the filter it was read with.
 */
async function readPages<K extends string, T>(
  api: AdminApi,
  path: string,
  key: K,
  options: PageOptions,
  filters: Record<string, string>,
): Promise<{ [P in K]: T[] } & { next_cursor: string | null }> {
  const one = options.limit !== undefined || options.cursor !== undefined;
  const items: T[] = [];
  let cursor = options.cursor;
  for (;;) {
    const query = new URLSearchParams({
      ...filters,
      ...(options.limit !== undefined ? { limit: String(options.limit) } : {}),
      ...(cursor !== undefined ? { cursor } : {}),
    }).toString();
    const page = await api.request<{ [P in K]: T[] } & { next_cursor?: string | null }>(
      "GET",
      query === "" ? path : `${path}?${query}`,
    );
    items.push(...page[key]);
    const next = page.next_cursor ?? null;
    if (one || next === null)
      return { [key]: items, next_cursor: next } as { [P in K]: T[] } & { next_cursor: string | null };
    cursor = next;
  }
}

/** An org's paged list as a `list` command prints it. */
export interface PagedList<K extends string, T, O extends object = object> {
  description: string;
  /** The help of its `--org`. */
  org: string;
  /** The admin API path of the org's list. */
  path: (org: string) => string;
  /** The answer's array. */
  key: K;
  columns: readonly string[];
  row: (item: T) => string[];
  /** The list's own filter options (`--status`), added to the command. */
  options?: (command: Command) => Command;
  /** The query parameters of those options, sent with every page. */
  filters?: (options: O) => Record<string, string | undefined>;
}

/**
 * `<noun> list --org ORG [--limit N] [--cursor C]`: every row (or the page
 * asked for) as a table, with the `more: --cursor …` line to read on when a
 * page is not the last; `--json` the answer, `next_cursor` included.
 */
export function registerPagedList<K extends string, T, O extends object = object>(
  parent: Command,
  list: PagedList<K, T, O>,
): void {
  const command = parent.command("list").description(list.description).requiredOption("--org <org>", list.org);
  withCommonOptions(withPageOptions(list.options ? list.options(command) : command)).action(
    async (options: CommonOptions & PageOptions & O & { org: string }) => {
      const filters = Object.fromEntries(
        Object.entries(list.filters?.(options) ?? {}).filter(
          (entry): entry is [string, string] => entry[1] !== undefined,
        ),
      );
      const listed = await readPages<K, T>(new AdminApi(options), list.path(options.org), list.key, options, filters);
      printResult(options.json, listed, () =>
        [
          columnsTable(list.columns, listed[list.key].map(list.row)),
          ...(listed.next_cursor ? ["", `more: --cursor ${listed.next_cursor}`] : []),
        ].join("\n"),
      );
    },
  );
}
