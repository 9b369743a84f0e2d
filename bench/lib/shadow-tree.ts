// A private view of the repository for one bench run.
//
// `wrangler dev` with several configs passes `--var` and `--env-file` to the
// first Worker only; every other Worker reads its secrets and var overrides
// from a `.dev.vars` beside its own config (wrangler 4.164, getVarsForDev),
// and `--env` renames the Workers (`name-env`), which breaks service
// bindings. The bench needs its own ISSUER (its own port) and must not touch
// the `.dev.vars` files `npm start` keeps in the checkout, so it runs wrangler
// in a temporary tree: each directory holding a config is a real directory
// whose entries link back to the checkout, and everything else is one link.
// Bundlers resolve imports through the links' real paths, so the code built
// is the checkout's code; `.wrangler/` (bundles, state) stays in the tree.
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";

/** Never linked: local state and local secrets belong to the checkout's own runs. */
const NOT_LINKED: ReadonlySet<string> = new Set([".git", ".wrangler", ".dev.vars", ".env", ".env.local"]);

function mirror(source: string, target: string, relative: string, realDirs: ReadonlySet<string>): void {
  mkdirSync(target, { recursive: true });
  for (const entry of readdirSync(source, { withFileTypes: true })) {
    if (NOT_LINKED.has(entry.name) || entry.name.startsWith(".dev.vars.")) continue;
    const rel = relative === "" ? entry.name : `${relative}/${entry.name}`;
    const needsRealDir = entry.isDirectory() && [...realDirs].some((d) => d === rel || d.startsWith(`${rel}/`));
    if (needsRealDir) mirror(join(source, entry.name), join(target, entry.name), rel, realDirs);
    else symlinkSync(join(source, entry.name), join(target, entry.name));
  }
}

export interface ShadowTree {
  root: string;
  /** Writes the `.dev.vars` wrangler reads beside `config` (a path relative to the root). */
  writeDevVars(config: string, values: Record<string, string>): void;
  /** Replaces a linked file (relative to the root) with an edited private copy. */
  editFile(path: string, edit: (text: string) => string): void;
}

/** Builds the tree under `target` for the given configs (paths relative to `checkout`). */
export function shadowTree(checkout: string, target: string, configs: readonly string[]): ShadowTree {
  const realDirs = new Set(configs.map((c) => normalize(dirname(c))).filter((d) => d !== "."));
  mirror(checkout, target, "", realDirs);
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
