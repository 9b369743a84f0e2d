// `mono-auth init`: `--local` from a clean state (a fresh persist directory)
// prepares what `npm start` runs on — secrets generated once (the
// checkout's, as `npm start` keeps them), each Worker's .dev.vars given the
// keys it lacks, both databases migrated — and the whole system then starts
// on that state; the remote
// path cannot run here (no Cloudflare account), so its exact steps are
// checked with --dry-run; bad input is refused with a clear message.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { SYSTEM_CONFIGS } from "../../scripts/workers.mjs";
import { ROOT, runCli, runWrangler } from "../support/mono-auth-cli.ts";
import { expectCliRefusal } from "../support/cli-refusal.ts";

const dir = mkdtempSync(join(tmpdir(), "mono-auth-init-"));
const state = join(dir, "state");
/** The checkout's own, as `npm start` keeps it: .dev.vars beside the configs are filled from it. */
const secretsFile = join(ROOT, ".wrangler/dev-secrets.json");
let dev: ChildProcess | undefined;

afterAll(() => {
  if (dev?.pid) process.kill(-dev.pid, "SIGTERM");
});

function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => done(port));
    });
  });
}

interface LocalInit {
  mode: string;
  persist_to: string;
  secrets: { file: string; generated: string[]; kept: string[] };
  dev_vars: { worker: string; file: string; added: string[] }[];
  migrations: { binding: string; applied: string[] }[];
}

// One wrangler platform proxy applies every migration of both databases (scripts/local-migrations.mjs):
// seconds, but a loaded CI machine can stretch a boot, so the run keeps a wide margin.
const initLocal = () =>
  runCli(["init", "--local", "--persist-to", state, "--secrets-file", secretsFile, "--json"], { timeoutMs: 120_000 });

describe("mono-auth init --local", () => {
  it("generates missing secrets, fills in missing .dev.vars keys, migrates both databases; again, changes nothing", async () => {
    const first = await initLocal();
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toBe("");
    const result = JSON.parse(first.stdout) as LocalInit;
    expect(result.mode).toBe("local");
    expect([...result.secrets.generated, ...result.secrets.kept].sort()).toEqual(
      ["BETTER_AUTH_SECRET", "GATEWAY_ASSERTION_KEY", "KEY_ENCRYPTION_SECRET", "VAULT_KEY"].sort(),
    );
    expect(statSync(secretsFile).mode & 0o777).toBe(0o600);
    // Secret values are never printed, only their names.
    const secrets = JSON.parse(readFileSync(secretsFile, "utf8")) as Record<string, string>;
    for (const value of Object.values(secrets)) expect(first.stdout).not.toContain(value);
    expect(result.dev_vars.map((d) => d.worker).sort()).toEqual(["authn", "demo", "gateway", "token"]);
    for (const d of result.dev_vars) expect(d.file).toBe(resolve(ROOT, d.file));
    const [main, audit] = result.migrations;
    expect(main?.binding).toBe("DB");
    expect(main?.applied.length).toBeGreaterThan(3);
    expect(audit?.binding).toBe("AUDIT_DB");
    expect(audit?.applied.length).toBeGreaterThan(0);

    const again = JSON.parse((await initLocal()).stdout) as LocalInit;
    expect(again.secrets.generated).toEqual([]);
    expect(again.dev_vars.map((d) => d.added)).toEqual([[], [], [], []]);
    expect(again.migrations.map((m) => m.applied)).toEqual([[], []]);
    expect(JSON.parse(readFileSync(secretsFile, "utf8"))).toEqual(secrets);

    const tables = await runWrangler(
      ["d1", "execute", "DB", "--local", "--persist-to", state, "-c", "wrangler.toml", "--json", "--command"].concat(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('user', 'oauth_client', 'signing_key')",
      ),
    );
    expect(tables.code, tables.stderr).toBe(0);
    expect(tables.stdout).toMatch(/oauth_client/);

    // wrangler itself agrees: init kept its bookkeeping, so its own apply (as a
    // deployment or an older checkout would run it) finds nothing left to do.
    for (const [binding, config] of [
      ["DB", "wrangler.toml"],
      ["AUDIT_DB", "workers/token/wrangler.toml"],
    ] as const) {
      const apply = await runWrangler([
        "d1",
        "migrations",
        "apply",
        binding,
        "--local",
        "--persist-to",
        state,
        "-c",
        config,
      ]);
      expect(apply.code, apply.stderr).toBe(0);
      expect(apply.stdout).toContain("No migrations to apply!");
    }
  }, 300_000);

  it("then the system starts on that state: the token Worker serves its JWKS from the migrated database", async () => {
    const port = await freePort();
    const inspector = await freePort();
    const args = ["wrangler", "dev", ...SYSTEM_CONFIGS.flatMap((c) => ["-c", c])];
    args.push("--port", String(port), "--inspector-port", String(inspector), "--persist-to", state);
    args.push("--show-interactive-dev-session=false");
    dev = spawn("npx", args, {
      cwd: ROOT,
      detached: true,
      stdio: "ignore",
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: "false",
        CLOUDFLARE_CF_FETCH_ENABLED: "false",
        WRANGLER_WRITE_LOGS: "false",
      },
    });
    const origin = `http://localhost:${port}`;
    await expect
      .poll(
        async () => {
          const response = await fetch(`${origin}${ENDPOINT.jwks}`).catch(() => undefined);
          return response?.status === 200 ? ((await response.json()) as { keys: unknown[] }).keys.length : 0;
        },
        { timeout: 120_000, interval: 1000 },
      )
      .toBeGreaterThan(0);
    const openapi = await fetch(`${origin}${ENDPOINT.adminOpenApi}`);
    expect(openapi.status).toBe(200);
    expect(((await openapi.json()) as { openapi: string }).openapi).toBe("3.1.0");
  }, 180_000);
});

describe("mono-auth init (remote)", () => {
  it("--dry-run prints every step, in order, and changes nothing", async () => {
    const before = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
    const run = await runCli(["init", "--url", "https://id.example.com", "--dry-run", "--json"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe("");
    const plan = JSON.parse(run.stdout) as {
      mode: string;
      dry_run: boolean;
      issuer: string;
      steps: { title: string; command: string | null; writes: string[] }[];
    };
    expect(plan).toMatchObject({ mode: "remote", dry_run: true, issuer: "https://id.example.com" });
    const commands = plan.steps.map((s) => s.command).filter(Boolean);
    expect(commands.slice(0, 6)).toEqual([
      "npx wrangler d1 create mono-auth",
      "npx wrangler d1 create mono-auth-audit",
      "npx wrangler kv namespace create mono-auth",
      "npx wrangler queues create mono-auth-audit",
      "npx wrangler queues create mono-auth-audit-dlq",
      "npx wrangler queues create mono-auth-access-webhooks",
    ]);
    // Every queue a Worker's config names must be created, or its deploy fails.
    const workers = join(ROOT, "workers");
    const configs = [
      join(ROOT, "wrangler.toml"),
      ...readdirSync(workers).map((w) => join(workers, w, "wrangler.toml")),
    ];
    for (const config of configs.filter((c) => existsSync(c))) {
      for (const [, queue] of readFileSync(config, "utf8").matchAll(/^\s*queue\s*=\s*"([^"]+)"/gm)) {
        expect(commands).toContain(`npx wrangler queues create ${queue}`);
      }
    }
    expect(commands).toContain("npx wrangler secret put KEY_ENCRYPTION_SECRET -c workers/token/wrangler.toml");
    expect(commands).toContain("npx wrangler secret put BETTER_AUTH_SECRET -c workers/authn/wrangler.toml");
    expect(commands.slice(-2)).toEqual([
      "npx wrangler d1 migrations apply DB --remote -c wrangler.toml",
      "npx wrangler d1 migrations apply AUDIT_DB --remote -c workers/token/wrangler.toml",
    ]);
    // The ids go into every config that binds the resource.
    expect(plan.steps[0]?.writes).toEqual(expect.arrayContaining(["wrangler.toml", "workers/token/wrangler.toml"]));
    expect(plan.steps[1]?.writes).toEqual(["workers/token/wrangler.toml"]);
    expect(readFileSync(join(ROOT, "wrangler.toml"), "utf8")).toBe(before);
  });

  it("refuses what it cannot do, saying why", async () => {
    await expectCliRefusal(runCli(["init"]), /needs its issuer: --url https:/);
    await expectCliRefusal(runCli(["init", "--url", "http://id.example.com", "--dry-run"]), /Must be https/);
    await expectCliRefusal(runCli(["init", "--local", "--dry-run"]), /--dry-run is for the remote steps/);
    await expectCliRefusal(runCli(["init", "--url", "not a url"]), /absolute http\(s\) URL/);
  });
});
