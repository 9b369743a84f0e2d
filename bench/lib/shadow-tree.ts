// A private snapshot of the repository for one bench run.
//
// `wrangler dev` with several configs passes `--var` and `--env-file` to the
// first Worker only; every other Worker reads its secrets and var overrides
// from a `.dev.vars` beside its own config (wrangler 4.164, getVarsForDev),
// and `--env` renames the Workers (`name-env`), which breaks service
// bindings. The bench needs its own ISSUER (its own port) and must not touch
// the `.dev.vars` files `npm start` keeps in the checkout, so it runs wrangler
// in a temporary tree.
//
// The tree is a copy of the checkout's files, not links to them: `wrangler
// dev` watches every file it bundled (by its real path) and rebuilds and
// restarts the Workers when one changes, so with links an edit in the
// checkout during a run would restart a contestant mid-measurement. Only
// `node_modules` is linked (nothing edits it during a run; bundlers resolve
// packages through the link). `.wrangler/` (bundles, state) stays in the tree.
import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";

/** Never copied: local state, local secrets and build output belong to the checkout's own runs. */
const NOT_COPIED: ReadonlySet<string> = new Set([".git", ".wrangler", ".build", ".dev.vars", ".env", ".env.local"]);

function copyTree(source: string, target: string): void {
  mkdirSync(target, { recursive: true });
  for (const entry of readdirSync(source, { withFileTypes: true })) {
    if (NOT_COPIED.has(entry.name) || entry.name.startsWith(".dev.vars.")) continue;
    const from = join(source, entry.name);
    const to = join(target, entry.name);
    if (entry.name === "node_modules") symlinkSync(from, to);
    else if (entry.isSymbolicLink()) symlinkSync(readlinkSync(from), to);
    else if (entry.isDirectory()) copyTree(from, to);
    else if (entry.isFile()) copyFileSync(from, to);
  }
}

export interface ShadowTree {
  root: string;
  /** Writes the `.dev.vars` wrangler reads beside `config` (a path relative to the root). */
  writeDevVars(config: string, values: Record<string, string>): void;
  /** Replaces a copied file (relative to the root) with an edited version of the checkout's. */
  editFile(path: string, edit: (text: string) => string): void;
}

/** Copies the checkout to `target`. */
export function shadowTree(checkout: string, target: string): ShadowTree {
  copyTree(checkout, target);
  return {
    root: target,
    writeDevVars(config, values) {
      const body = Object.entries(values)
        .map(([key, value]) => `${key}=${value}`)
        .join("\n");
      writeFileSync(join(target, dirname(config), ".dev.vars"), `${body}\n`, { mode: 0o600 });
    },
    editFile(path, edit) {
      const text = edit(readFileSync(join(checkout, path), "utf8"));
      rmSync(join(target, path));
      writeFileSync(join(target, path), text);
    },
  };
}
