#!/usr/bin/env node
// `mono-auth`, the operators' CLI: `mono-auth <noun> <verb> [--flags]`.
// The commands are TypeScript under cli/, run from a bundle of them that
// is rebuilt whenever they change (bundled-entry.mjs); this entry checks
// the Node version first.
const major = Number(process.versions.node.split(".")[0]);
if (major < 22) {
  console.error(
    `mono-auth: Node ${process.versions.node} is too old; run it through npx (npx mono-auth …), which uses the project's Node 22.`,
  );
  process.exit(1);
}

const { cliEntry } = await import("./bundled-entry.mjs");
const { run } = await import(await cliEntry());
process.exitCode = await run(process.argv);
