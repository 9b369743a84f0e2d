/**
 * Reads what docs/endpoints.md and docs/storage-schema.md name, so a test
 * in each Worker's project can hold them to its routers, its D1 schema and
 * the storage keys and cookie names of shared/contracts: a route, a table,
 * a key or a cookie added without its docs fails CI (test/gateway,
 * test/token and test/authn `docs-coverage.test.ts`).
 */

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
const METHOD = new RegExp(`^(${METHODS.join("|")})$`);
/** `POST /x`, `/x`, `…/x`; a body written after the path (`POST /x {link}`) is left out. */
const METHOD_AND_PATH = new RegExp(`^(?:(${METHODS.join("|")})\\s+)?([/…]\\S*)(?:\\s+\\{[^}]*\\})?$`);

/** `:id`, `:version{[0-9]+}`, `{id}` and `<name>` are one placeholder: `{}`. */
export function normaliseRoutePath(path: string): string {
  return path
    .split("/")
    .map((segment) => (/^(:|\{|<)/.test(segment) ? "{}" : segment))
    .join("/");
}

/**
 * `…/clients/{id}/disable` after `/admin/v1/orgs/{org}/clients/{id}/rotate-secret`
 * in the same cell: the previous path up to the last segment named like the
 * abbreviation's first one, then the abbreviation. Undefined when no such
 * segment is there (the route then counts as undocumented).
 */
function resolveAbbreviation(path: string, previous: string | undefined): string | undefined {
  if (!path.startsWith("…/")) return path;
  if (!previous) return undefined;
  const rest = path.slice("…/".length).split("/");
  const before = previous.split("/");
  const at = before.lastIndexOf(rest[0] ?? "");
  return at < 0 ? undefined : [...before.slice(0, at), ...rest].join("/");
}

/**
 * `METHOD /path` pairs named by the first cell of each table row in the
 * document's "## Route index" section. In a cell, bare methods (`GET`/`POST
 * /x`) go with the path after them; a path named without a method takes the
 * methods of the path before it in the cell (`POST /a`, `/b`); `…/x`
 * abbreviates the path before it (resolveAbbreviation).
 */
export function documentedRoutes(markdown: string): Set<string> {
  const start = markdown.indexOf("\n## Route index");
  if (start < 0) throw new Error('docs/endpoints.md has no "## Route index" section');
  const next = markdown.indexOf("\n## ", start + 1);
  const section = markdown.slice(start, next < 0 ? undefined : next);
  const routes = new Set<string>();
  for (const line of section.split("\n")) {
    if (!line.startsWith("| ") || line.startsWith("|---")) continue;
    const cell = line.slice(2).split(" | ")[0] ?? "";
    let pending: string[] = [];
    let methods: string[] = [];
    let previous: string | undefined;
    for (const [, span = ""] of cell.matchAll(/`([^`]+)`/g)) {
      if (METHOD.test(span)) {
        pending.push(span);
        continue;
      }
      const named = METHOD_AND_PATH.exec(span);
      if (!named) continue;
      const [, own, written = ""] = named;
      const path = resolveAbbreviation(written, previous);
      if (own || pending.length > 0) methods = [...pending, ...(own ? [own] : [])];
      pending = [];
      if (!path) continue;
      previous = path;
      for (const method of methods) routes.add(`${method} ${normaliseRoutePath(path)}`);
    }
  }
  return routes;
}

interface HonoRoute {
  method: string;
  path: string;
  handler: unknown;
}

/**
 * The `METHOD /path` pairs a Hono app serves, from `app.routes`: middleware
 * (`ALL`) left out, and so are the 405 answers shared/http/unsupported-methods.ts
 * registers — one handler per path for every method the path does not take,
 * OPTIONS always among them (no route of ours registers OPTIONS itself).
 */
export function servedRoutes(routes: readonly HonoRoute[], prefix = ""): Set<string> {
  const fillers = new Set(routes.filter((route) => route.method === "OPTIONS").map((route) => route.handler));
  const served = new Set<string>();
  for (const { method, path, handler } of routes) {
    if (method === "ALL" || fillers.has(handler)) continue;
    served.add(`${method} ${normaliseRoutePath(`${prefix}${path}`.replace(/\/$/, "") || "/")}`);
  }
  return served;
}

/**
 * The D1 tables storage-schema.md describes: `| \`table\` | …` rows. For
 * each, the words of every backticked span of its row (column names, and the
 * composite keys written as `(a, b)`), and whether it says "timestamps".
 */
export function documentedTables(markdown: string): Map<string, { words: Set<string>; timestamps: boolean }> {
  const tables = new Map<string, { words: Set<string>; timestamps: boolean }>();
  for (const line of markdown.split("\n")) {
    const row = /^\| `(\w+)` \|/.exec(line);
    if (!row?.[1] || tables.has(row[1])) continue;
    const words = new Set<string>();
    for (const [, span = ""] of line.matchAll(/`([^`]+)`/g)) {
      for (const word of span.split(/\W+/)) if (word) words.add(word);
    }
    tables.set(row[1], { words, timestamps: /\btimestamps\b/.test(line) });
  }
  return tables;
}

/** What D1 holds after every migration: each table (not D1's or SQLite's own) and its columns. */
export async function schemaTables(db: D1Database): Promise<Map<string, string[]>> {
  const { results } = await db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    .all<{ name: string }>();
  const ours = results.filter(
    ({ name }) => !name.startsWith("sqlite_") && !name.startsWith("_cf_") && name !== "d1_migrations",
  );
  const tables = new Map<string, string[]>();
  for (const { name } of ours) {
    const columns = await db.prepare("SELECT name FROM pragma_table_info(?)").bind(name).all<{ name: string }>();
    tables.set(
      name,
      columns.results.map((column) => column.name),
    );
  }
  return tables;
}

/** `table: column` for every column the table's row in storage-schema.md does not name. */
export function undocumentedColumns(
  schema: ReadonlyMap<string, readonly string[]>,
  documented: ReturnType<typeof documentedTables>,
): string[] {
  const missing: string[] = [];
  for (const [table, columns] of schema) {
    const row = documented.get(table);
    if (!row) {
      missing.push(`${table} (no row)`);
      continue;
    }
    for (const column of columns) {
      const stamp = row.timestamps && (column === "created_at" || column === "updated_at");
      if (!row.words.has(column) && !stamp) missing.push(`${table}: ${column}`);
    }
  }
  return missing;
}

/**
 * The text of the section a heading line starting with `heading` opens
 * (`## KV`, "### `OrgState`"), up to the next heading of its level or above.
 */
export function docSection(markdown: string, heading: string): string {
  const lines = markdown.split("\n");
  const start = lines.findIndex((line) => line.startsWith(heading));
  if (start < 0) throw new Error(`docs/storage-schema.md has no section "${heading}"`);
  const level = /^#+/.exec(heading)?.[0].length ?? 2;
  const end = lines.findIndex(
    (line, at) => at > start && /^#+ /.test(line) && (/^#+/.exec(line)?.[0].length ?? 0) <= level,
  );
  return lines.slice(start, end < 0 ? undefined : end).join("\n");
}

/** `<org_id>`, `<n>`, `<prefix>`: any placeholder, one spelling. */
const PLACEHOLDER = /<[^<>]+>/g;

/** The backticked spans of a docs section, each placeholder written `<>`. */
export function documentedKeys(section: string): Set<string> {
  return new Set([...section.matchAll(/`([^`]+)`/g)].map(([, span = ""]) => span.replace(PLACEHOLDER, "<>")));
}

/**
 * A contract's key as the docs write it: a string as it is, a key builder
 * called with `<>` for each of its parameters (`policy:<>:v<>`); each
 * placeholder written `<>`, as documentedKeys does.
 */
export function keyShape(key: unknown): string {
  const built: unknown = typeof key === "function" ? Reflect.apply(key, undefined, Array(key.length).fill("<>")) : key;
  if (typeof built !== "string") throw new Error(`not a key or a key builder: ${String(key)}`);
  return built.replace(PLACEHOLDER, "<>");
}

/**
 * `<name> (<what>): <shape> not named in "<section>"` for each key of
 * `keys` whose shape (keyShape) is not a backticked span of the section.
 */
export function undocumentedKeys(
  what: string,
  keys: Readonly<Record<string, unknown>>,
  markdown: string,
  heading: string,
): string[] {
  const documented = documentedKeys(docSection(markdown, heading));
  return Object.entries(keys)
    .map(([name, key]) => [name, keyShape(key)] as const)
    .filter(([, shape]) => !documented.has(shape))
    .map(([name, shape]) => `${what}.${name}: \`${shape}\` not named in docs/storage-schema.md "${heading}"`);
}

/** The words of a docs section's backticked spans (`mint_window(start PRIMARY KEY, count)`: mint_window, start, …). */
export function documentedWords(section: string): Set<string> {
  const words = new Set<string>();
  for (const [, span = ""] of section.matchAll(/`([^`]+)`/g)) {
    for (const word of span.split(/\W+/)) if (word) words.add(word);
  }
  return words;
}

/** The text between the parenthesis at `open` and the one that closes it. */
function parenthesised(text: string, open: number): string {
  let depth = 0;
  for (let at = open; at < text.length; at += 1) {
    if (text[at] === "(") depth += 1;
    else if (text[at] === ")" && --depth === 0) return text.slice(open + 1, at);
  }
  return text.slice(open + 1);
}

/** A table definition's columns: each top-level item's first word, table constraints left out. */
function definedColumns(body: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let item = "";
  for (const char of body) {
    if (char === "(") depth += 1;
    if (char === ")") depth -= 1;
    if (char === "," && depth === 0) {
      items.push(item);
      item = "";
    } else item += char;
  }
  items.push(item);
  return items
    .map((column) => /^\s*(\w+)/.exec(column)?.[1] ?? "")
    .filter((word) => word && !/^(PRIMARY|UNIQUE|FOREIGN|CHECK|CONSTRAINT)$/i.test(word));
}

/**
 * What Durable Objects keep in their SQLite storage, from the sources that
 * create it (D1's tables come from migrations, never from code): each
 * table with its columns (`CREATE TABLE`, `ALTER TABLE … ADD COLUMN`) and
 * its indexes (`CREATE INDEX … ON table`).
 */
export function objectTables(sources: Readonly<Record<string, string>>): Map<string, Set<string>> {
  const tables = new Map<string, Set<string>>();
  const of = (table: string) => tables.get(table) ?? tables.set(table, new Set()).get(table) ?? new Set<string>();
  for (const text of Object.values(sources)) {
    for (const match of text.matchAll(/CREATE TABLE IF NOT EXISTS (\w+) \(/g)) {
      const columns = definedColumns(parenthesised(text, (match.index ?? 0) + match[0].length - 1));
      for (const column of columns) of(match[1] ?? "").add(column);
    }
    for (const [, table = "", column = ""] of text.matchAll(/ALTER TABLE (\w+) ADD COLUMN (\w+)/g))
      of(table).add(column);
    for (const [, index = "", table = ""] of text.matchAll(/CREATE (?:UNIQUE )?INDEX IF NOT EXISTS (\w+) ON (\w+)/g)) {
      of(table).add(index);
    }
  }
  return tables;
}
