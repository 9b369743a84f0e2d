// `mono-auth audit query|verify|tail`: the real binary as a child process
// against the whole system served locally (test/support/system.ts). The
// events are made the way they are in production (admin calls, a token
// minted, a gateway decision), travel through the audit Queue, and are read
// back through the admin API.
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliRun, ROOT, runCli } from "../support/mono-auth-cli.ts";
import {
  clientCredentialsToken,
  type MachineClient,
  type OperatorCli,
  operatorCli,
  orgWithMachineClient,
} from "../support/operator-cli.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

interface AuditEvent {
  id: string;
  kind: string;
  outcome: string;
  chain: string;
  seq: number | null;
  subject: string | null;
  client_id: string | null;
  detail: Record<string, unknown>;
}

const CLI = resolve(ROOT, "cli/mono-auth.mjs");

let system: RunningSystem;
let operator: OperatorCli;
let orgId: string;
let client: MachineClient;

const cli = (...args: string[]): Promise<CliRun> => operator.cli(...args);
const json = <T>(...args: string[]): Promise<T> => operator.json<T>(...args);

/** A gateway decision in the org's chain: a request to the protected API with the client's token. */
async function gatewayDecision(): Promise<void> {
  const accessToken = await clientCredentialsToken(system, client);
  const response = await system.fetch("/api/documents", { headers: { Authorization: `Bearer ${accessToken}` } });
  expect([200, 403]).toContain(response.status);
}

beforeAll(async () => {
  system = await startSystem();
  operator = await operatorCli(system, "cli-audit");
  ({ orgId, client } = await orgWithMachineClient(operator, "Audited"));
  await gatewayDecision();
});
afterAll(() => system?.close());

describe("mono-auth audit", () => {
  it("--help lists every audit command's flags", async () => {
    const flags: Record<string, string[]> = {
      "audit query": [
        "--org",
        "--subject",
        "--actor",
        "--client",
        "--kind",
        "--outcome",
        "--decision",
        "--from",
        "--to",
      ],
      "audit verify": ["--org", "--after"],
      "audit tail": ["--org", "--kind", "--lines", "--interval", "--count"],
    };
    for (const [command, expected] of Object.entries(flags)) {
      const help = await runCli([...command.split(" "), "--help"], { cwd: operator.dir });
      expect(help.code, command).toBe(0);
      for (const flag of [...expected, "--url", "--json", "--help"]) expect(help.stdout, command).toContain(flag);
    }
  });

  it("query: an org's events with their place in its chain, filtered, one page at a time", async () => {
    let events: AuditEvent[] = [];
    await expect
      .poll(async () => {
        events = (await json<{ events: AuditEvent[] }>("audit", "query", "--org", orgId)).events;
        return new Set(events.map((e) => e.kind));
      })
      .toEqual(new Set(["admin.action", "token.issued", "gateway.decision"]));
    expect(events.every((e) => e.chain === orgId)).toBe(true);
    // Every one has its place in the chain: seqs 1..n (in the order they were written, not occurred).
    expect(events.map((e) => e.seq).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual([...events.keys()].map((i) => i + 1));

    const issued = await json<{ events: AuditEvent[] }>("audit", "query", "--org", orgId, "--kind", "token.*");
    expect(issued.events.map((e) => [e.kind, e.subject])).toEqual([["token.issued", client.client_id]]);
    const recent = await json<{ events: AuditEvent[] }>("audit", "query", "--org", orgId, "--from", "10m");
    expect(recent.events.length).toBe(events.length);

    const first = await json<{ events: AuditEvent[]; next_cursor: string }>(
      "audit",
      "query",
      "--org",
      orgId,
      "--limit",
      "1",
    );
    expect(first.events.map((e) => e.id)).toEqual([events[0]?.id]);
    const second = await json<{ events: AuditEvent[] }>(
      ...["audit", "query", "--org", orgId, "--limit", "1", "--cursor", first.next_cursor],
    );
    expect(second.events.map((e) => e.id)).toEqual([events[1]?.id]);

    const table = await cli("audit", "query", "--org", orgId, "--limit", "1");
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^occurred_at +kind +outcome +org +seq/m);
    expect(table.stdout).toMatch(/^more: --cursor \S+$/m);
  });

  it("verify: ok for the untouched chain; after a row is edited, exit 1 naming it", async () => {
    const ok = await json<{ ok: boolean; rows_checked: number; last_seq: number; broken: null }>(
      "audit",
      "verify",
      "--org",
      orgId,
    );
    expect(ok).toMatchObject({ ok: true, broken: null });
    expect(ok.rows_checked).toBe(ok.last_seq);
    expect(ok.rows_checked).toBeGreaterThanOrEqual(3);

    // What someone with write access to the audit database might do.
    const [row] = await system.query<{ id: string; seq: number }>(
      "SELECT id, seq FROM audit_event WHERE chain = ? AND kind = 'token.issued'",
      orgId,
    );
    await system.query("UPDATE audit_event SET outcome = 'refused' WHERE id = ?", row?.id);
    const broken = await cli("audit", "verify", "--org", orgId, "--json");
    expect(broken.code).toBe(1);
    expect(broken.stderr).toBe(
      `mono-auth: error: the audit chain of ${orgId} is broken at seq ${row?.seq} (hash_mismatch)\n`,
    );
    expect(JSON.parse(broken.stdout)).toMatchObject({
      ok: false,
      rows_checked: (row?.seq ?? 0) - 1,
      broken: { reason: "hash_mismatch", id: row?.id, seq: row?.seq },
    });
    const human = await cli("audit", "verify", "--org", orgId);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/^broken +hash_mismatch$/m);
  });

  it("tail: the recent events, then new ones as they land, as JSON lines", async () => {
    // Two decisions have landed just before the tail begins: it shows the
    // newest (--lines 1), and the other, still inside the window each poll
    // re-reads, is history, never printed as new.
    const decisions = async (): Promise<string[]> =>
      (await json<{ events: AuditEvent[] }>("audit", "query", "--org", orgId, "--kind", "gateway.decision")).events.map(
        (e) => e.id,
      );
    const earlier = (await decisions()).length;
    await gatewayDecision();
    await gatewayDecision();
    let before: string[] = [];
    await expect
      .poll(
        async () => {
          before = await decisions();
          return before.length;
        },
        { timeout: 30_000 },
      )
      .toBeGreaterThanOrEqual(earlier + 2);
    const child = spawn(
      process.execPath,
      [
        ...[CLI, "audit", "tail", "--org", orgId, "--kind", "gateway.decision", "--lines", "1", "--count", "2"],
        ...["--interval", "1s", "--json", "--url", system.origin, "--profile", operator.profile],
      ],
      { cwd: operator.dir },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    // Once it has printed the recent decision, a new one is made.
    await expect.poll(() => stdout.split("\n").length, { timeout: 30_000 }).toBeGreaterThan(1);
    await gatewayDecision();
    expect(await exited).toBe(0);
    expect(stderr).toBe("");
    const events = stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as AuditEvent);
    expect(events).toHaveLength(2);
    expect(events.every((e) => e.kind === "gateway.decision" && e.chain === orgId)).toBe(true);
    expect(events[0]?.id).toBe(before[0]);
    expect(before).not.toContain(events[1]?.id);
    expect(events[1]?.seq).toBeGreaterThan(events[0]?.seq ?? 0);
  });

  it("tail without --json: a header, then one line per event", async () => {
    const result = await cli(
      "audit",
      "tail",
      "--org",
      orgId,
      "--kind",
      "gateway.decision",
      "--lines",
      "2",
      "--count",
      "2",
    );
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^occurred_at +kind +outcome/);
    expect(lines.slice(1).every((line) => line.includes("gateway.decision"))).toBe(true);
    expect(lines).toHaveLength(3);
  });

  it("refusals: exit non-zero, nothing on stdout, the reason on stderr", async () => {
    const cases: [string[], RegExp][] = [
      [["audit", "verify"], /required option '--org <org>'/],
      [["audit", "query", "--limit", "0"], /Use a whole number from 1 to 200/],
      [["audit", "query", "--from", "yesterday"], /Use an ISO 8601 time/],
      [["audit", "query", "--outcome", "maybe"], /refused \(400 invalid_query\): outcome: one of/],
      [["audit", "verify", "--org", orgId, "--after", "nope"], /refused \(400 invalid_query\): cursor: /],
    ];
    for (const [args, message] of cases) {
      const result = await cli(...args);
      expect(result.code, args.join(" ")).not.toBe(0);
      expect(result.stdout).toBe("");
      expect(result.stderr).toMatch(message);
    }
  });
});
