// The operator surface of the `mono-auth` CLI against the locally served
// system: keys list|rotate, user list (an org's members, or people by address), org list, the `--remote` profile,
// the admin API's problem details as the CLI reports them, and `--help`
// for every command; `--json` parsed, bad input refused with a message and
// a non-zero exit.
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildProgram } from "../../cli/main.ts";
import type { Command } from "commander";
import { runCli } from "../support/mono-auth-cli.ts";
import { type OperatorCli, operatorCli } from "../support/operator-cli.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";
import { expectCliRefusal } from "../support/cli-refusal.ts";

let system: RunningSystem;
let operator: OperatorCli;

beforeAll(async () => {
  system = await startSystem();
  operator = await operatorCli(system, "surface");
});
afterAll(() => system?.close());

/** Every leaf command of the program, with its words (`keys rotate`). */
function leaves(command: Command, prefix: string[] = []): { words: string[]; command: Command }[] {
  if (command.commands.length === 0) return [{ words: prefix, command }];
  return command.commands.flatMap((sub) => leaves(sub, [...prefix, sub.name()]));
}

describe("mono-auth operator surface", () => {
  it("--help for every command lists its flags, --url and --json among them", async () => {
    const program = await buildProgram();
    const all = leaves(program);
    expect(all.map(({ words }) => words.join(" "))).toEqual(
      expect.arrayContaining(["init", "keys list", "keys rotate", "user list", "org list", "client rotate"]),
    );
    // A run loads only the noun it names (cli/main.ts): each noun's module registers that noun alone.
    for (const noun of program.commands.map((command) => command.name())) {
      expect((await buildProgram(noun)).commands.map((command) => command.name())).toEqual([noun]);
    }
    // Every leaf's help as commander renders it, in this process: one child
    // process per command cost this file a minute and proves nothing more.
    for (const { words, command } of all) {
      const help = command.helpInformation();
      expect(help, words.join(" ")).toContain("--json");
      expect(help, words.join(" ")).toContain("--url");
      expect(help, words.join(" ")).toContain("--help");
    }
    // …and the binary prints the same help and exits 0.
    for (const words of [
      ["user", "list"],
      ["client", "rotate"],
      ["audit", "tail"],
    ]) {
      const command = all.find((leaf) => leaf.words.join(" ") === words.join(" "))?.command;
      const help = await runCli([...words, "--help"]);
      expect(help.code, words.join(" ")).toBe(0);
      expect(help.stdout, words.join(" ")).toBe(command?.helpInformation());
    }
  });

  it("keys list shows the current key; a staged rotate before the lead time is refused 409 conflict", async () => {
    const listed = await operator.json<{ keys: { kid: string; status: string }[] }>("keys", "list");
    expect(listed.keys.some((k) => k.status === "current")).toBe(true);
    await expectCliRefusal(operator.cli("keys", "rotate"), /refused \(409 conflict\)/);
    await expectCliRefusal(operator.cli("keys", "rotate", "--kid", "x"), /--kid is only for --emergency/);
    // The refusal published a next key, which the list now shows.
    await expect
      .poll(async () => (await operator.json<{ keys: { status: string }[] }>("keys", "list")).keys.map((k) => k.status))
      .toContain("next");
  });

  it("org list and user list, as JSON and as tables", async () => {
    const org = await operator.json<{ id: string }>("org", "create", "--name", "Surface");
    const orgs = await operator.json<{ orgs: { id: string }[] }>("org", "list");
    expect(orgs.orgs.map((o) => o.id)).toContain(org.id);
    const members = await operator.json<{ members: unknown[] }>("user", "list", "--org", org.id);
    expect(members.members).toEqual([]);
    const table = await operator.cli("user", "list", "--org", org.id);
    expect(table.code).toBe(0);
    expect(table.stdout.trim()).toBe("(none)");
    await expectCliRefusal(
      operator.cli("user", "list", "--org", "no-such-org"),
      /refused \(404 not_found\): no such organization/,
    );
    // Without --org: people across orgs (a ban's target may belong to none), by exact address.
    const found = await operator.json<{ users: { id: string; email: string; banned_at: string | null }[] }>(
      "user",
      "list",
      "--email",
      "Surface@Example.com",
    );
    expect(found.users).toEqual([expect.objectContaining({ email: "surface@example.com", banned_at: null })]);
    const everyone = await operator.json<{ users: { email: string }[] }>("user", "list");
    expect(everyone.users.map((u) => u.email)).toContain("surface@example.com");
    const none = await operator.cli("user", "list", "--email", "nobody@example.com");
    expect(none.code).toBe(0);
    expect(none.stdout.trim()).toBe("(none)");
    await expectCliRefusal(
      operator.cli("user", "list", "--org", org.id, "--email", "surface@example.com"),
      /--email finds people across orgs: leave out --org/,
    );
  });

  it("--remote names the issuer the profile saved; without one it says how to save it", async () => {
    await expectCliRefusal(
      runCli(["org", "list", "--remote", "--profile", operator.profile]),
      /no remote issuer in .*mono-auth init --url/,
    );
    const document = JSON.parse(readFileSync(operator.profile, "utf8")) as Record<string, unknown>;
    writeFileSync(operator.profile, JSON.stringify({ ...document, remote: system.origin }), { mode: 0o600 });
    const remote = await runCli(["org", "list", "--remote", "--json", "--profile", operator.profile]);
    expect(remote.code, remote.stderr).toBe(0);
    expect((JSON.parse(remote.stdout) as { orgs: unknown[] }).orgs.length).toBeGreaterThan(0);
  });
});
