#!/usr/bin/env node
// `mono-auth`, the operators' CLI: `mono-auth <noun> <verb> [--flags]`.
// The commands are TypeScript under cli/, which Node 22 runs directly (type
// stripping), as bench/run.mjs does; this entry only checks the Node version.
const major = Number(process.versions.node.split(".")[0]);
if (major < 22) {
  console.error(
    `mono-auth: Node ${process.versions.node} is too old; run it through npx (npx mono-auth …), which uses the project's Node 22.`,
  );
  process.exit(1);
}

const { run } = await import("./main.ts");
process.exitCode = await run(process.argv);
