import { availableParallelism } from "node:os";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { unstable_readConfig } from "wrangler";
import { defineConfig } from "vitest/config";
import { SYSTEM_CONFIGS } from "./scripts/workers.mjs";
import { buildAuxiliaryWorker, prebuildWorkers } from "./test/support/auxiliary-workers.ts";
import { TEST_SECRETS } from "./test/support/secrets.ts";

// Every Worker any project runs, bundled once for the whole run (two at a
// time): the in-runtime projects load them as neighbours, and the system
// project's harness loads the five of the system prebuilt instead of
// bundling them again for each of its files (test/support/system.ts).
await prebuildWorkers([
  ...SYSTEM_CONFIGS,
  "test/support/runtime/ssf-receiver/wrangler.toml",
  "test/support/runtime/vault-upstream/wrangler.toml",
  "test/support/runtime/cimd-host/wrangler.toml",
]);

const migrations = await readD1Migrations("./migrations");
const auditMigrations = await readD1Migrations("./migrations/audit");

/**
 * The audit database as the token Worker (its only writer) binds it. Test
 * projects that read audit rows bind the same database id, which Miniflare
 * shares with the token Worker running beside them.
 */
const auditDatabaseId = unstable_readConfig({ config: "./workers/token/wrangler.toml" }).d1_databases.find(
  (d: { binding: string; database_id?: string }) => d.binding === "AUDIT_DB",
)?.database_id;
if (!auditDatabaseId) throw new Error("workers/token/wrangler.toml binds no AUDIT_DB");

/**
 * A Worker's in-runtime (workerd) tests, on that Worker's own config. Starting
 * a runtime (workerd, the neighbours, the Worker's module graph, vitest's
 * runner) costs 5–7 s on CI's two cores, more than most files' tests, so a
 * Worker's files share one runtime per vitest worker and run one after
 * another in it (`isolate: false`): every such file makes its own orgs,
 * clients, users and keys and asserts nothing about what others left behind.
 * The few files that change what every file shares (the token Worker's
 * signing keys) or count every row of a table run each in a runtime of its
 * own, as the `<name>-own-runtime` project. Vitest keeps a runtime only while
 * the next file in its queue is of the same project, which its default order
 * (project by project) gives; `--sequence.shuffle.files` with `--project`
 * checks that no file leans on another's leftovers.
 */
function workerProjects(
  name: string,
  configPath: string,
  include: string[],
  {
    ownRuntime = [],
    neighbours = [],
    vars = {},
    serviceBindings = {},
  }: {
    ownRuntime?: string[];
    neighbours?: string[];
    vars?: Record<string, string>;
    serviceBindings?: Record<string, string>;
  } = {},
) {
  const setup = { configPath, neighbours, vars, serviceBindings };
  return [
    runtimeProject(name, { ...setup, include, exclude: ownRuntime, isolate: false }),
    ...(ownRuntime.length > 0
      ? [runtimeProject(`${name}-own-runtime`, { ...setup, include: ownRuntime, exclude: [], isolate: true })]
      : []),
  ];
}

function runtimeProject(
  name: string,
  {
    configPath,
    include,
    exclude,
    isolate,
    neighbours,
    vars,
    serviceBindings,
  }: {
    configPath: string;
    include: string[];
    exclude: string[];
    isolate: boolean;
    neighbours: string[];
    vars: Record<string, string>;
    serviceBindings: Record<string, string>;
  },
) {
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath },
        miniflare: {
          bindings: { TEST_MIGRATIONS: migrations, TEST_AUDIT_MIGRATIONS: auditMigrations, ...TEST_SECRETS, ...vars },
          // The org-state Worker binds no D1; every other project reads audit rows.
          d1Databases: name === "org-state" ? {} : { AUDIT_DB: auditDatabaseId },
          // The plugin runs the Worker under test as `vitest-plugin-runner-<project>`
          // (@cloudflare/vitest-plugin, getRunnerName): neighbours binding back to it are pointed there.
          workers: neighbours.map((config) =>
            buildAuxiliaryWorker(config, TEST_SECRETS, {
              [unstable_readConfig({ config: configPath }).name ?? name]: `vitest-plugin-runner-${name}`,
            }),
          ),
          serviceBindings,
        },
      }),
    ],
    test: {
      name,
      include,
      exclude,
      isolate,
      // The org-state Worker binds no D1: nothing to migrate there.
      setupFiles: name === "org-state" ? [] : ["./test/support/runtime/apply-migrations.ts"],
      // Vitest's 5 s default is for unit tests; these hash passwords and cross
      // several Workers, three files at a time on two shared cores.
      testTimeout: 30_000,
      hookTimeout: 60_000,
      // Audit rows arrive through the audit Queue's batches (about a second).
      expect: { poll: { timeout: 10_000, interval: 100 } },
    },
  };
}

export default defineConfig({
  test: {
    // One vitest worker more than the cores: three on CI's two. A file
    // spends much of its time waiting rather than computing (its Miniflare
    // or harness starting, a CLI child process, the audit batch's and the
    // tests' polling windows), so one file per core left the cores idle a
    // third of the run (CPU 19.7 min over a 15.4 min run on two cores); three
    // ran the suite in 11 min, while four contend (14 min). Each vitest
    // worker has its own runtime, storage and port: they share no state.
    maxWorkers: availableParallelism() + 1,
    projects: [
      ...workerProjects("gateway", "./wrangler.toml", ["test/gateway/**/*.test.ts", "test/shared/**/*.test.ts"], {
        neighbours: [
          "workers/token/wrangler.toml",
          "workers/authn/wrangler.toml",
          "workers/demo/wrangler.toml",
          "workers/org-state/wrangler.toml",
        ],
        vars: {
          // Tests swap keys and revoke tokens between requests: no cooldown and
          // no staleness window, so each request sees the latest state.
          JWKS_REFETCH_COOLDOWN_MS: "0",
          REVOCATION_MAX_STALENESS_MS: "0",
        },
      }),
      ...workerProjects("org-state", "./workers/org-state/wrangler.toml", ["test/org-state/**/*.test.ts"]),
      ...workerProjects(
        "token",
        "./workers/token/wrangler.toml",
        // The audit producer and consumer run here: the token Worker consumes the audit Queue.
        ["test/token/**/*.test.ts", "test/audit/runtime/**/*.test.ts"],
        {
          // They delete, insert and rotate the signing keys every file's tokens are signed with,
          // or count every row of a table.
          ownRuntime: [
            "test/token/keys-and-metadata.test.ts",
            "test/token/keys-rotation.test.ts",
            "test/token/keys-admin.test.ts",
            "test/token/audit-refusals.test.ts",
          ],
          // The authn Worker: the token endpoint hands the browser provider's grants to it (OIDC_GRANTS).
          neighbours: [
            "workers/org-state/wrangler.toml",
            "test/support/runtime/ssf-receiver/wrangler.toml",
            // The saved-token vault's provider: a real OAuth server the token Worker is the client of.
            "test/support/runtime/vault-upstream/wrangler.toml",
            "workers/authn/wrangler.toml",
          ],
          // A second audience, so token exchange can be asked for one its subject token does not hold;
          // the transmitter's, so org clients can manage SSF streams.
          vars: {
            ALLOWED_AUDIENCES: "http://localhost:8787/api https://reports.example.test/api http://localhost:8787/ssf",
            // Access webhooks retried at once (the consumer's backoff starts from 0), so a test sees every attempt.
            ACCESS_WEBHOOK_RETRY_BASE_SECONDS: "0",
          },
          // SSF pushes leave through a real receiver Worker (workers/token/src/ssf/push.ts), which the tests read.
          serviceBindings: {
            SSF_PUSH_OUTBOUND: "mono-auth-test-ssf-receiver",
            SSF_TEST_RECEIVER: "mono-auth-test-ssf-receiver",
            // Access webhooks leave through the same receiver (workers/token/src/mcp/webhook-delivery.ts).
            ACCESS_WEBHOOK_OUTBOUND: "mono-auth-test-ssf-receiver",
            // The saved-token vault's tests reach the provider above as a real server.
            VAULT_UPSTREAM: "mono-auth-test-vault-upstream",
            // The browser provider's pages (sign-up, authorize, consent), driven as a browser would (test/token/oidc-*.test.ts).
            AUTHN_PAGES: "mono-auth-authn",
          },
        },
      ),
      ...workerProjects("authn", "./workers/authn/wrangler.toml", ["test/authn/**/*.test.ts"], {
        neighbours: [
          "workers/org-state/wrangler.toml",
          // The audit Queue's consumer.
          "workers/token/wrangler.toml",
          // MCP clients' metadata-document hosts (workers/authn/src/mcp-clients).
          "test/support/runtime/cimd-host/wrangler.toml",
        ],
        // A scripted IdP that never answers is cut off in a second, not the default ten (test/authn/sso-upstream-limits.test.ts).
        vars: {
          SSO_UPSTREAM_TIMEOUT_MS: "1000",
          // An anonymous refusal's audit aggregate is queued after 50 ms, not the default 1 s
          // (shared/audit/anonymous-refusals.ts): the email-helpers `call` waits out every request's
          // background work, and a wrong password or a limit's 429 each held it a whole second.
          ANONYMOUS_REFUSAL_WINDOW_MS: "50",
        },
        // The resolver's tests route https://*.example.test to that host as a real server.
        serviceBindings: { CIMD_HOST: "mono-auth-test-cimd-host", CIMD_OUTBOUND: "mono-auth-test-cimd-host" },
      }),
      {
        // Multi-Worker (wrangler's test harness) and browser (Chromium) tests,
        // driven from Node over HTTP like a real client.
        test: {
          name: "system",
          include: ["test/e2e/**/*.test.ts", "test/browser/**/*.test.ts", "test/audit/system/**/*.test.ts"],
          environment: "node",
          // The bundles prebuildWorkers made above: each file's harness loads them as they are.
          env: { MONO_AUTH_PREBUILT_WORKERS: "1", MONO_AUTH_SHARED_SYSTEM: "1" },
          // One module graph per vitest worker: a file asking for options a file
          // before it asked for gets that file's running system (about 4 s of
          // CPU per start saved), reached from an address of its own
          // (test/support/system.ts, file-address.ts).
          isolate: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
          expect: { poll: { timeout: 10_000, interval: 100 } },
        },
      },
    ],
  },
});
