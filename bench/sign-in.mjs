// The sign-in measurement alone: the same as `npm run bench -- --sign-in-only`.
// `npm run bench` runs it after the throughput runs.
process.argv.push("--sign-in-only");
await import("./run.mjs");
