// An operator's CLI session against a system started by test/support/system.ts:
// a private working directory and profile, the first platform operator
// written the way `mono-auth operator bootstrap` writes it (its SQL applied
// through the harness's own D1 binding, since the harness keeps D1 in memory
// where wrangler cannot reach it), and helpers to run commands.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { GRANT_TYPE } from "../../shared/contracts/tokens.ts";
import { type CliRun, runCli } from "./mono-auth-cli.ts";
import type { RunningSystem } from "./system.ts";

export interface OperatorCli {
  dir: string;
  profile: string;
  /** Runs `mono-auth …` against the system with this operator's profile. */
  cli: (...args: string[]) => Promise<CliRun>;
  /** `--json`: exactly one JSON document on stdout, nothing on stderr, exit 0. */
  json: <T>(...args: string[]) => Promise<T>;
}

/** `bootstrapArgs`: more flags for `operator bootstrap` (`--dpop`). */
export async function operatorCli(
  system: RunningSystem,
  name: string,
  bootstrapArgs: readonly string[] = [],
): Promise<OperatorCli> {
  const dir = mkdtempSync(join(tmpdir(), `mono-auth-${name}-`));
  const profile = join(dir, "profile.json");
  const cli = (...args: string[]) => runCli([...args, "--url", system.origin, "--profile", profile], { cwd: dir });
  const json = async <T>(...args: string[]): Promise<T> => {
    const result = await cli(...args, "--json");
    expect(result.stderr, result.stderr).toBe("");
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout) as T;
  };
  const sql = join(dir, "operator.sql");
  const bootstrap = await cli(
    ...["operator", "bootstrap", "--email", `${name}@example.com`, "--sql-out", sql, "--json"],
    ...bootstrapArgs,
  );
  expect(bootstrap.code, bootstrap.stderr).toBe(0);
  for (const statement of readFileSync(sql, "utf8")
    .split(";\n")
    .filter((s) => s.trim())) {
    await system.execMain(statement);
  }
  return { dir, profile, cli, json };
}

export interface MachineClient {
  client_id: string;
  client_secret: string;
}

/** An org and a client_secret_basic machine client in it, created through the CLI. */
export async function orgWithMachineClient(
  operator: OperatorCli,
  orgName: string,
): Promise<{ orgId: string; client: MachineClient }> {
  const orgId = (await operator.json<{ id: string }>("org", "create", "--name", orgName)).id;
  const client = await operator.json<MachineClient>(
    ...["client", "create", "--org", orgId, "--name", "job", "--type", "machine"],
    ...["--auth", "client_secret_basic", "--scopes", "documents:read"],
  );
  return { orgId, client };
}

/** A client_credentials access token for the client (its one audience). */
export async function clientCredentialsToken(system: RunningSystem, client: MachineClient): Promise<string> {
  const response = await system.fetch(ENDPOINT.token, {
    method: "POST",
    headers: {
      Authorization: `Basic ${btoa(`${client.client_id}:${client.client_secret}`)}`,
      "Content-Type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ grant_type: GRANT_TYPE.clientCredentials }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}
