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
 */
async function readPages<K extends string, T>(
  api: AdminApi,
  path: string,
  key: K,
  options: PageOptions,
): Promise<{ [P in K]: T[] } & { next_cursor: string | null }> {
  const one = options.limit !== undefined || options.cursor !== undefined;
  const items: T[] = [];
  let cursor = options.cursor;
  for (;;) {
    const query = new URLSearchParams({
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
export interface PagedList<K extends string, T> {
  description: string;
  /** The help of its `--org`. */
  org: string;
  /** The admin API path of the org's list. */
  path: (org: string) => string;
  /** The answer's array. */
  key: K;
  columns: readonly string[];
  row: (item: T) => string[];
}

/**
 * `<noun> list --org ORG [--limit N] [--cursor C]`: every row (or the page
 * asked for) as a table, with the `more: --cursor …` line to read on when a
 * page is not the last; `--json` the answer, `next_cursor` included.
 */
export function registerPagedList<K extends string, T>(parent: Command, list: PagedList<K, T>): void {
  withCommonOptions(
    withPageOptions(parent.command("list").description(list.description).requiredOption("--org <org>", list.org)),
  ).action(async (options: CommonOptions & PageOptions & { org: string }) => {
    const listed = await readPages<K, T>(new AdminApi(options), list.path(options.org), list.key, options);
    printResult(options.json, listed, () =>
      [
        columnsTable(list.columns, listed[list.key].map(list.row)),
        ...(listed.next_cursor ? ["", `more: --cursor ${listed.next_cursor}`] : []),
      ].join("\n"),
    );
  });
}
