import type { Command } from "commander";
import type { AdminApi } from "./admin-api.ts";
import { parsePositive } from "./options.ts";

/** The admin API's largest page (workers/token/src/admin/page.ts). */
const MAX_PAGE = 500;

export interface PageOptions {
  limit?: number;
  cursor?: string;
}

/** `--limit` and `--cursor` for a list the admin API pages (`?limit=&cursor=` → `next_cursor`). */
export function withPageOptions(command: Command): Command {
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
export async function readPages<K extends string, T>(
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

/** The line under a page's table that says how to read on, if there is more. */
export function moreLines(next: string | null): string[] {
  return next ? ["", `more: --cursor ${next}`] : [];
}
