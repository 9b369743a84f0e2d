// `mono-auth invite revoke <jti>` given the invite itself instead of its jti:
// the CLI refuses before it sends anything. An invite redeems until it is
// withdrawn; sent as the DELETE's path it would land whole in the token
// Worker's request log and in part in the audit trail, and the 404 that
// answered it would leave it redeemable.
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/mono-auth-cli.ts";

const JTI = "0b6f1e2a-4c1d-4e8b-9a57-3f2d6c8e1a90";
const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
// Shaped as an invite (header, claims, signature); only the CLI reads it.
const INVITE = `${base64url({ alg: "ES256", typ: "mono-invite+jwt" })}.${base64url({ jti: JTI, org_id: "org-1" })}.c2lnbmF0dXJl`;

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

describe("invite revoke <jti>", () => {
  it("refuses the invite itself, naming its jti, and sends nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mono-auth-revoke-"));
    const profile = join(dir, "profile.json");
    const operator = { client_id: "mac_operator", client_secret: "s", email: "o@example.com", created_at: "" };
    writeFileSync(profile, JSON.stringify({ version: 1, operators: { [origin]: operator } }), { mode: 0o600 });

    const run = await runCli(["invite", "revoke", INVITE, "--org", "org-1", "--url", origin, "--profile", profile], {
      cwd: dir,
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(
      `mono-auth: error: revoke takes the invite's jti, not the invite itself (nothing was sent): its jti is ${JTI}\n`,
    );
    expect(received).toEqual([]);
  });
});
