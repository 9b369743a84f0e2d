// A stand-in issuer for CLI tests that must prove the CLI sent nothing: it
// records every request it receives and answers each with a 500, so any
// request at all is one the CLI should not have made. With it, a profile
// holding an operator for it, as `operator bootstrap` writes one.
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";

export interface RecordingIssuer {
  /** `http://127.0.0.1:<port>`, once the file's beforeAll has run. */
  readonly origin: string;
  /** `METHOD path` of each request received, in order. */
  readonly received: string[];
}

/** Starts the issuer before the file's tests and stops it after them. */
export function recordingIssuer(): RecordingIssuer {
  let server: Server | undefined;
  const issuer = { origin: "", received: [] as string[] };
  beforeAll(async () => {
    const started = createServer((request, response) => {
      issuer.received.push(`${request.method} ${request.url}`);
      response.writeHead(500).end();
    });
    server = started;
    await new Promise<void>((listening) => started.listen(0, "127.0.0.1", listening));
    issuer.origin = `http://127.0.0.1:${(started.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((closed) => (server ? server.close(() => closed()) : closed())));
  return issuer;
}

/** A fresh directory (`mono-auth-<name>-…`) and, in it, a profile with an operator for `origin`. */
export function operatorProfile(origin: string, name: string): { dir: string; profile: string } {
  const dir = mkdtempSync(join(tmpdir(), `mono-auth-${name}-`));
  const profile = join(dir, "profile.json");
  const operator = { client_id: "mac_operator", client_secret: "s", email: "o@example.com", created_at: "" };
  writeFileSync(profile, JSON.stringify({ version: 1, operators: { [origin]: operator } }), { mode: 0o600 });
  return { dir, profile };
}
