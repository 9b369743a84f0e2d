// `mono-auth revoke` and `mono-auth revocations watch`: the real binary as a
// child process against the whole system served locally
// (test/support/system.ts). An operator revokes a token's jti; the gateway
// refuses the token within its staleness bound (1 s here); a watcher prints
// the event as one JSON line.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RevocationStreamMessage } from "../../shared/contracts/revocation.ts";
import { type CliRun, ROOT } from "../support/mono-auth-cli.ts";
import {
  clientCredentialsToken,
  type MachineClient,
  type OperatorCli,
  operatorCli,
  orgWithMachineClient,
} from "../support/operator-cli.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

const CLI = resolve(ROOT, "cli/mono-auth.mjs");

let system: RunningSystem;
let operator: OperatorCli;
let orgId: string;
let client: MachineClient;

const cli = (...args: string[]): Promise<CliRun> => operator.cli(...args);
const json = <T>(...args: string[]): Promise<T> => operator.json<T>(...args);
const clientAccessToken = (): Promise<string> => clientCredentialsToken(system, client);

function jtiOf(token: string): string {
  const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as { jti: string };
  return payload.jti;
}

/** The gateway's refusal code for a request with the token, or "ok" when it passed the trust checks. */
async function gatewayVerdict(token: string): Promise<string> {
  const response = await system.fetch("/api/documents", { headers: { Authorization: `Bearer ${token}` } });
  if (response.status !== 401) return "ok";
  return ((await response.json()) as { error_description?: string }).error_description ?? "unexplained 401";
}

interface Watcher {
  child: ChildProcessWithoutNullStreams;
  lines: () => string[];
  stderr: () => string;
  exited: Promise<number | null>;
}

function watch(...args: string[]): Watcher {
  return watchAs(operator, ...args);
}

function watchAs(watcher: OperatorCli, ...args: string[]): Watcher {
  const child = spawn(
    process.execPath,
    [CLI, "revocations", "watch", "--org", orgId, ...args, "--url", system.origin, "--profile", watcher.profile],
    { cwd: watcher.dir },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
  return { child, lines: () => stdout.split("\n").filter(Boolean), stderr: () => stderr, exited };
}

beforeAll(async () => {
  system = await startSystem({ gatewayVars: { REVOCATION_MAX_STALENESS_MS: "1000" } });
  operator = await operatorCli(system, "cli-revocations");
  ({ orgId, client } = await orgWithMachineClient(operator, "Revoked"));
});
afterAll(() => system?.close());

describe("mono-auth revoke and revocations watch", () => {
  it("revokes a token's jti, the gateway refuses it within the bound, and a watcher prints the event", async () => {
    const token = await clientAccessToken();
    const other = await clientAccessToken();
    expect(await gatewayVerdict(token)).toBe("ok");
    // The org is new: its first revocation is seq 1, so a watcher from 0 prints exactly it.
    const watcher = watch("--json", "--after", "0", "--count", "1");

    const revoked = await json<{ seq: number; kind: string; value: string }>(
      "revoke",
      ...["--org", orgId, "--jti", jtiOf(token), "--reason", "leaked in a log"],
    );
    expect(revoked).toMatchObject({ kind: "jti", value: jtiOf(token) });

    // The gateway's view is at most REVOCATION_MAX_STALENESS_MS (1 s here) old.
    await expect.poll(() => gatewayVerdict(token), { timeout: 10_000, interval: 250 }).toMatch(/^ERR_TOKEN_REVOKED:/);
    expect(await gatewayVerdict(other)).toBe("ok");

    expect(await watcher.exited, watcher.stderr()).toBe(0);
    const [line] = watcher.lines();
    const message = JSON.parse(line ?? "") as RevocationStreamMessage;
    expect(message).toEqual({
      type: "revocation",
      seq: revoked.seq,
      kind: "jti",
      value: jtiOf(token),
      reason: "leaked in a log",
      revoked_at: expect.any(Number),
      expires_at: expect.any(Number),
    });
  });

  it("replays from --after in order, once each, and exits 0 on Ctrl-C", async () => {
    const listed = await cli("revoke", "--org", orgId, "--subject", "user-zz", "--json");
    const seq = (JSON.parse(listed.stdout) as { seq: number }).seq;
    const watcher = watch("--json", "--after", String(seq - 1));
    await expect.poll(() => watcher.lines().length, { timeout: 10_000 }).toBe(1);
    await json("revoke", "--org", orgId, "--client", "mac_gone");
    await expect.poll(() => watcher.lines().length, { timeout: 10_000 }).toBe(2);
    watcher.child.kill("SIGINT");
    expect(await watcher.exited).toBe(0);
    const messages = watcher.lines().map((l) => JSON.parse(l) as RevocationStreamMessage);
    expect(messages.map((m) => (m.type === "revocation" ? [m.seq, m.kind, m.value] : m))).toEqual([
      [seq, "subject", "user-zz"],
      [seq + 1, "client", "mac_gone"],
    ]);
  });

  it("watches as an operator whose client requires DPoP (RFC 9449): the stream is opened with a bound token and a proof", async () => {
    const bound = await operatorCli(system, "cli-revocations-dpop", ["--dpop"]);
    const profile = JSON.parse(readFileSync(bound.profile, "utf8")) as {
      operators: Record<string, { client_id: string; dpop_private_jwk?: { d?: string } }>;
    };
    const credentials = profile.operators[system.origin];
    expect(credentials?.dpop_private_jwk?.d).toBeTruthy();
    const [row] = await system.queryMain<{ require_dpop: number }>(
      "SELECT require_dpop FROM oauth_client WHERE client_id = ?",
      credentials?.client_id,
    );
    expect(row?.require_dpop).toBe(1);
    const listed = await bound.json<{ seq: number }>("revoke", "--org", orgId, "--subject", "user-dpop");
    const watcher = watchAs(bound, "--json", "--after", String(listed.seq - 1), "--count", "2");
    await expect.poll(() => watcher.lines().length, { timeout: 10_000 }).toBe(1);
    const next = await bound.json<{ seq: number }>("revoke", "--org", orgId, "--client", "mac_dpop_gone");
    expect(await watcher.exited, watcher.stderr()).toBe(0);
    const messages = watcher.lines().map((l) => JSON.parse(l) as RevocationStreamMessage);
    expect(messages.map((m) => (m.type === "revocation" ? [m.seq, m.kind, m.value] : m))).toEqual([
      [listed.seq, "subject", "user-dpop"],
      [next.seq, "client", "mac_dpop_gone"],
    ]);
  });

  it("refuses a revoke without exactly one target, on stderr with a non-zero exit", async () => {
    const none = await cli("revoke", "--org", orgId);
    expect(none.code).not.toBe(0);
    expect(none.stdout).toBe("");
    expect(none.stderr).toContain("exactly one of --jti, --session, --subject, --client, --grant or --all");
    const two = await cli("revoke", "--org", orgId, "--jti", "a", "--all");
    expect(two.code).not.toBe(0);
    const unknownOrg = await cli("revoke", "--org", "no-such-org", "--jti", "a");
    expect(unknownOrg.code).not.toBe(0);
    expect(unknownOrg.stderr).toContain("not_found");
  });
});
