// Where `mono-auth` loads its commands from: one esbuild bundle of the
// TypeScript under cli/ (and what it imports), kept under
// node_modules/.cache and rebuilt when any of its sources changed. Node 22
// runs the TypeScript directly too, but stripping the types of some sixty
// modules and resolving a hundred imports took 0.3–0.45 s of every run; from
// the bundle a run starts in about 0.1 s. Plain JavaScript on purpose: nothing here
// may need the type stripping it saves.
//
// Whatever goes wrong with the bundle (esbuild missing, a read-only
// checkout, a build error) falls back to the sources, which report a real
// error the way they always did.
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { isBuiltin } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = resolve(import.meta.dirname, "..");
const SOURCE = join(ROOT, "cli", "main.ts");
/** MONO_AUTH_CLI_CACHE: another place for the bundle (the tests' own). */
const CACHE = process.env.MONO_AUTH_CLI_CACHE || join(ROOT, "node_modules", ".cache", "mono-auth-cli");
const BUNDLE = join(CACHE, "main.mjs");
const MANIFEST = join(CACHE, "inputs.json");

/** The module to import `run` from: the bundle when it is current or can be made so, else the sources. */
export async function cliEntry() {
  if (isCurrent()) return pathToFileURL(BUNDLE).href;
  try {
    await build();
    return pathToFileURL(BUNDLE).href;
  } catch {
    return pathToFileURL(SOURCE).href;
  }
}

/** The bundle was built by this Node from sources none of which has changed since (their mtimes). */
function isCurrent() {
  try {
    const manifest = JSON.parse(readFileSync(MANIFEST, "utf8"));
    if (manifest.node !== process.version) return false;
    for (const [file, mtimeMs] of Object.entries(manifest.inputs)) {
      if (statSync(join(ROOT, file)).mtimeMs !== mtimeMs) return false;
    }
    return statSync(BUNDLE).isFile();
  } catch {
    return false;
  }
}

async function build() {
  const esbuild = await import("esbuild");
  mkdirSync(CACHE, { recursive: true });
  // Written aside and renamed into place: runs started together (the tests
  // start many) each build, and none ever imports a half-written bundle.
  const temporary = `${BUNDLE}.${process.pid}.tmp`;
  const inputs = {};
  await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [SOURCE],
    outfile: temporary,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    logLevel: "silent",
    plugins: [packagesFromCheckout(inputs), pinImportMeta(inputs)],
  });
  renameSync(temporary, BUNDLE);
  const manifestTemporary = `${MANIFEST}.${process.pid}.tmp`;
  writeFileSync(manifestTemporary, JSON.stringify({ node: process.version, inputs }));
  renameSync(manifestTemporary, MANIFEST);
}

/**
 * Packages stay outside the bundle (commander is CommonJS, which an ESM
 * bundle cannot `require` into; wrangler is large and loaded only by the
 * commands that run it) and are imported by their location in the
 * checkout's node_modules, so the bundle works from any cache directory.
 * Each location is an input too: a package updated in place (its entry
 * file moved or rewritten) makes the next run rebuild rather than import
 * a file that is gone.
 */
function packagesFromCheckout(inputs) {
  return {
    name: "packages-from-checkout",
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, ({ path }) => {
        if (isBuiltin(path)) return { path, external: true };
        const url = import.meta.resolve(path);
        const file = fileURLToPath(url);
        inputs[relative(ROOT, file)] = statSync(file).mtimeMs;
        return { path: url, external: true };
      });
    },
  };
}

/**
 * Loads each source of the checkout for the bundle, noting its mtime before
 * reading it (a change made during the build makes the next run rebuild).
 * The sources find the checkout from where they sit (`import.meta.dirname`,
 * `import.meta.url`); in the bundle those would name the cache, so each
 * source's own location is written into it as a literal instead.
 */
function pinImportMeta(inputs) {
  return {
    name: "pin-import-meta",
    setup(build) {
      build.onLoad({ filter: /\.(?:ts|mjs|js)$/ }, async ({ path }) => {
        if (path.includes(`${sep}node_modules${sep}`)) return undefined;
        inputs[relative(ROOT, path)] = statSync(path).mtimeMs;
        const source = await readFile(path, "utf8");
        return {
          contents: source
            .replaceAll("import.meta.dirname", JSON.stringify(dirname(path)))
            .replaceAll("import.meta.url", JSON.stringify(pathToFileURL(path).href)),
          loader: path.endsWith(".ts") ? "ts" : "js",
        };
      });
    },
  };
}
