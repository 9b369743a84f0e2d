// What the CLI prints for people holds values others chose (a client's name,
// set by an org admin; a revocation's reason, by any client that may revoke;
// a server's error description): a control character in one is escaped
// (cli/lib/output.ts terminalText), never run by the operator's terminal
// (ESC [2J clearing the screen, OSC 52 writing the clipboard), a bidi
// override shows as itself, and a line break cannot forge a table row.
// `--json` carries the value exactly, as JSON escapes it.
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { type CliRun, ROOT } from "../support/mono-auth-cli.ts";

const CLI = resolve(ROOT, "cli/mono-auth.mjs");
const HOSTILE = "ok\x1b[2J\x1b]52;c;ZWNobyBwd25lZA==\x07\u202egnp.exe\nforged-row\r\x9b";
/** No raw control character a terminal would act on (the escaped forms are plain text). */
const RAW_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

/** A stand-in issuer answering with hostile values: the CLI must not trust what it prints. */
const server = createServer((request, response) => {
  response.setHeader("Content-Type", "application/json");
  const path = request.url ?? "";
  if (path === ENDPOINT.token) {
    response.end(JSON.stringify({ access_token: "operator-token", token_type: "Bearer", expires_in: 300 }));
  } else if (path.endsWith("/clients")) {
    response.end(
      JSON.stringify({
        clients: [
          {
            client_id: "mac_1",
            client_name: HOSTILE,
            client_type: "agent",
            token_endpoint_auth_method: "client_secret_basic",
            status: "active",
            scope: "documents:read",
            last_used_at: null,
          },
        ],
      }),
    );
  } else if (path.includes("/revocations/stream")) {
    response.setHeader("Content-Type", "text/event-stream");
    const event = { type: "revocation", seq: 1, kind: "jti", value: "x", reason: HOSTILE, revoked_at: 1 };
    response.end(`id: 1\nevent: revocation\ndata: ${JSON.stringify(event)}\n\n`);
  } else if (path.includes("/revocations")) {
    response.end(JSON.stringify({ kind: "changes", version: 0, events: [], more: false }));
  } else {
    response.statusCode = 400;
    response.end(JSON.stringify({ error: "invalid_body", error_description: HOSTILE }));
  }
});

let issuer = "";
let profile = "";
beforeAll(async () => {
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  profile = join(mkdtempSync(join(tmpdir(), "mono-auth-terminal-")), "profile.json");
  const operator = { client_id: "op", client_secret: "op-secret", email: "op@example.com", created_at: "" };
  writeFileSync(profile, JSON.stringify({ version: 1, operators: { [issuer]: operator } }), { mode: 0o600 });
});
afterAll(() => server.close());

function cli(args: readonly string[]): Promise<CliRun> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [CLI, ...args, "--url", issuer, "--profile", profile],
      { cwd: ROOT, timeout: 60_000 },
      (error, stdout, stderr) =>
        done({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe("values others chose are printed as text, never as terminal controls", () => {
  it("client list: the name is escaped in its one row; --json carries it exactly", async () => {
    const table = await cli(["client", "list", "--org", "org_1"]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).not.toMatch(RAW_CONTROL);
    expect(table.stdout).toContain(
      "ok\\x1b[2J\\x1b]52;c;ZWNobyBwd25lZA==\\x07\\u{202e}gnp.exe\\x0aforged-row\\x0d\\x9b",
    );
    // A header, its rule, one row: the line break in the name made no row of its own.
    expect(table.stdout.trimEnd().split("\n")).toHaveLength(3);

    const json = await cli(["client", "list", "--org", "org_1", "--json"]);
    expect(json.code, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as { clients: { client_name: string }[] }).clients[0]?.client_name).toBe(HOSTILE);
  });

  it("a refusal's error description is escaped on stderr", async () => {
    const refused = await cli(["org", "list"]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe("");
    expect(refused.stderr).not.toMatch(RAW_CONTROL);
    expect(refused.stderr).toContain("(400 invalid_body): ok\\x1b[2J");
  });

  it("revocations watch: a reason is escaped on its one line", async () => {
    const watched = await cli(["revocations", "watch", "--org", "org_1", "--count", "1"]);
    expect(watched.code, watched.stderr).toBe(0);
    expect(watched.stdout).not.toMatch(RAW_CONTROL);
    expect(watched.stdout.trimEnd().split("\n")).toHaveLength(1);
    expect(watched.stdout).toContain("ok\\x1b[2J");
  });
});
