// `npm run bench` (options: bench/README.md). The work is in bench/lib/*.ts,
// which Node 22 runs directly (type stripping); this entry only checks the
// Node version and hands over the system's configs from the one list.
import { SYSTEM_CONFIGS, WORKERS } from "../scripts/workers.mjs";

const major = Number(process.versions.node.split(".")[0]);
if (major < 22) {
  console.error(
    `Node ${process.versions.node} is too old; run through npm (npm run bench), which uses the project's Node 22.`,
  );
  process.exit(1);
}

const { main } = await import("./lib/main.ts");
const configs = {
  all: SYSTEM_CONFIGS,
  gateway: WORKERS.gateway.config,
  token: WORKERS.token.config,
  authn: WORKERS.authn.config,
};
await main(process.argv.slice(2), configs).catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
