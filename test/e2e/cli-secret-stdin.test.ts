// A secret option given as `-` is read from stdin, so it shows in no `ps`
// listing while the CLI runs and in no shell history after
// (cli/lib/secret-argument.ts): the host's invite (one who reads it from
// `ps` can redeem it first, with a key of their own), a vault provider's
// client secret, an SSF push stream's Authorization value.
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { UnsecuredJWT } from "jose";
import { afterAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { type CliRun, ROOT } from "../support/mono-auth-cli.ts";

const CLI = resolve(ROOT, "cli/mono-auth.mjs");
const dir = mkdtempSync(join(tmpdir(), "mono-auth-stdin-"));

/** The CLI as a child process, `input` on its stdin. */
function runWithStdin(args: readonly string[], input: string): Promise<CliRun> {
  return new Promise((done) => {
    const child = execFile(process.execPath, [CLI, ...args], { cwd: ROOT, timeout: 60_000 }, (error, stdout, stderr) =>
      done({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(input);
  });
}

function read(request: IncomingMessage): Promise<string> {
  return new Promise((done) => {
    let body = "";
    request.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on("end", () => done(body));
  });
}

/** A stand-in issuer: a token for the operator, and the provider the admin API would answer. */
const received: unknown[] = [];
const server = createServer(async (request, response) => {
  const body = await read(request);
  response.setHeader("Content-Type", "application/json");
  if (request.url === ENDPOINT.token) {
    response.end(JSON.stringify({ access_token: "operator-token", token_type: "Bearer", expires_in: 300 }));
    return;
  }
  received.push(JSON.parse(body));
  response.statusCode = 201;
  response.end(
    JSON.stringify({
      id: "vp_1",
      name: "docs",
      resource: "https://docs.example.com",
      authorization_endpoint: "https://provider.example.com/authorize",
      token_endpoint: "https://provider.example.com/token",
      client_id: "ours",
      has_client_secret: true,
      scopes: [],
    }),
  );
});
afterAll(() => server.close());

describe("a secret option given as - is read from stdin", () => {
  it("vault provider create --client-secret -: the secret from stdin is what the admin API gets, never printed", async () => {
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const profile = join(dir, "profile.json");
    const operator = { client_id: "op", client_secret: "op-secret", email: "op@example.com", created_at: "" };
    writeFileSync(profile, JSON.stringify({ version: 1, operators: { [issuer]: operator } }), { mode: 0o600 });
    const secret = "provider-secret-from-stdin";
    const run = await runWithStdin(
      [
        "vault",
        "provider",
        "create",
        "--org",
        "org_1",
        "--name",
        "docs",
        "--resource",
        "https://docs.example.com",
        "--authorization-endpoint",
        "https://provider.example.com/authorize",
        "--token-endpoint",
        "https://provider.example.com/token",
        "--client-id",
        "ours",
        "--client-secret",
        "-",
        "--url",
        issuer,
        "--profile",
        profile,
        "--json",
      ],
      `${secret}\n`,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(received).toEqual([expect.objectContaining({ client_secret: secret })]);
    expect(run.stdout).not.toContain(secret);
    expect(run.stderr).not.toContain(secret);

    const header = "Bearer receiver-secret-from-stdin";
    const ssf = await runWithStdin(
      ["ssf", "stream", "create", "--org", "org_1", "--aud", "https://receiver.example.com"]
        .concat(["--push", "https://receiver.example.com/push", "--authorization", "-"])
        .concat(["--url", issuer, "--profile", profile, "--json"]),
      `${header}\n`,
    );
    expect(ssf.code, ssf.stderr).toBe(0);
    expect(received[1]).toMatchObject({ delivery: { authorization_header: header } });
  });

  it("host bootstrap --invite -: the invite from stdin is the one read (its issuer checked like --url)", async () => {
    const invite = new UnsecuredJWT({}).setIssuer("http://id.example.com").encode();
    const run = await runWithStdin(["host", "bootstrap", "--invite", "-", "--out", join(dir, "host.json")], invite);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe("mono-auth: error: --invite: the invite's issuer is not an http(s) URL; pass --url\n");
  });

  it("refuses an empty stdin or one of several lines, before any request", async () => {
    for (const input of ["", "\n", "one\ntwo\n"]) {
      const run = await runWithStdin(["host", "bootstrap", "--invite", "-", "--out", join(dir, "host.json")], input);
      expect(run.code).toBe(1);
      expect(run.stdout).toBe("");
      expect(run.stderr).toContain("stdin must hold the value on one line.");
    }
  });
});
