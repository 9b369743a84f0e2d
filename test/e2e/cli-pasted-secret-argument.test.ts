// A secret pasted where an id belongs: `mono-auth scim token delete --id <the
// SCIM token itself>`, `client disable --id <a client secret>`, `revoke
// --client <a client secret>`. The CLI refuses before it sends anything. The
// secret works until it is deleted or rotated; sent, it would reach the
// token Worker's request log, and the 404 that answered it would leave it working.
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/mono-auth-cli.ts";

const ID = `sct_${"A".repeat(22)}`;
const TOKEN = `${ID}.mas_${"b".repeat(43)}`;

let server: Server;
let origin: string;
const received: string[] = [];

beforeAll(async () => {
  // Stands in for the issuer: anything it receives is a request the CLI should not have made.
  server = createServer((request, response) => {
    received.push(`${request.method} ${request.url}`);
    response.writeHead(500).end();
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((closed) => server.close(() => closed())));

describe("scim token delete --id", () => {
  it("refuses the token itself, naming its id, and sends nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mono-auth-scim-delete-"));
    const profile = join(dir, "profile.json");
    const operator = { client_id: "mac_operator", client_secret: "s", email: "o@example.com", created_at: "" };
    writeFileSync(profile, JSON.stringify({ version: 1, operators: { [origin]: operator } }), { mode: 0o600 });

    const run = await runCli(
      ["scim", "token", "delete", "--id", TOKEN, "--org", "org-1", "--url", origin, "--profile", profile],
      { cwd: dir },
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(
      `mono-auth: error: --id takes the token's id, not the token itself (nothing was sent): its id is ${ID}\n`,
    );
    expect(received).toEqual([]);
  });

  it("client disable and revoke refuse a client secret where the client id belongs, and send nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mono-auth-client-secret-"));
    const profile = join(dir, "profile.json");
    const operator = { client_id: "mac_operator", client_secret: "s", email: "o@example.com", created_at: "" };
    writeFileSync(profile, JSON.stringify({ version: 1, operators: { [origin]: operator } }), { mode: 0o600 });
    const secret = `mas_${"c".repeat(43)}`;
    const common = ["--org", "org-1", "--url", origin, "--profile", profile];
    for (const [argv, flag] of [
      [["client", "disable", "--id", secret], "--id"],
      [["client", "rotate", "--id", secret], "--id"],
      [["revoke", "--client", secret], "--client"],
    ] as const) {
      const run = await runCli([...argv, ...common], { cwd: dir });
      expect(run.code).toBe(1);
      expect(run.stdout).toBe("");
      expect(run.stderr).toBe(`mono-auth: error: ${flag} takes an id, not a secret (nothing was sent)\n`);
    }
    expect(received).toEqual([]);
  });
});
