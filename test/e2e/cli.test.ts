// The `mono-auth` CLI as operators and hosts run it: the real binary
// (cli/mono-auth.mjs, package.json `bin`) as a child process against the
// whole system served locally (test/support/system.ts). Every command, its
// `--json` document parsed and asserted, and bad input refused with a
// non-zero exit and a message on stderr.
//
// `operator bootstrap` writes D1 through wrangler. The harness keeps its D1
// in memory (no persist directory a second process could open), so here the
// CLI hands its SQL over with `--sql-out` and the test applies it through
// the harness's own D1 binding; the wrangler path itself is exercised
// against a local persist directory in cli-operator-bootstrap.test.ts.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminAudience, ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { CLIENT_ASSERTION_TYPE_JWT_BEARER, GRANT_TYPE } from "../../shared/contracts/tokens.ts";
import { type CliRun as Run, runCli } from "../support/mono-auth-cli.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

const ROOT = resolve(import.meta.dirname, "../..");

let system: RunningSystem;
let dir: string;
let profile: string;

/** The binary, run in the test's own directory. */
function run(args: readonly string[]): Promise<Run> {
  return runCli(args, { cwd: dir });
}

/** A command against the system, as the operator whose profile the test keeps. */
function cli(...args: string[]): Promise<Run> {
  return run([...args, "--url", system.origin, "--profile", profile]);
}

/** `--json`: exactly one JSON document on stdout, nothing on stderr, exit 0. */
async function json<T = Record<string, unknown>>(...args: string[]): Promise<T> {
  const result = await cli(...args, "--json");
  expect(result.stderr, result.stderr).toBe("");
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as T;
}

/** A refusal: non-zero exit, nothing on stdout, the message on stderr. */
async function refused(result: Run | Promise<Run>, message: RegExp): Promise<void> {
  const { code, stdout, stderr } = await result;
  expect(code).not.toBe(0);
  expect(stdout).toBe("");
  expect(stderr).toMatch(message);
}

function basic(clientId: string, secret: string): string {
  return `Basic ${btoa(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`)}`;
}

/** client_credentials with client_secret_basic, or client_secret_post (RFC 6749 §2.3.1). */
function clientCredentials(clientId: string, secret: string, method: "basic" | "post" = "basic") {
  const form = new URLSearchParams({ grant_type: GRANT_TYPE.clientCredentials });
  if (method === "post") {
    form.set("client_id", clientId);
    form.set("client_secret", secret);
  }
  return system.fetch(ENDPOINT.token, {
    method: "POST",
    headers: {
      ...(method === "basic" ? { Authorization: basic(clientId, secret) } : {}),
      "Content-Type": "application/x-www-form-urlencoded",
    },
    body: form,
  });
}

beforeAll(async () => {
  system = await startSystem();
  dir = mkdtempSync(join(tmpdir(), "mono-auth-cli-"));
  profile = join(dir, "profile.json");
});
afterAll(() => system?.close());

describe("mono-auth", () => {
  let orgId: string;
  let invite: string;

  it("runs as the package's bin (npx) and lists every command's flags in --help", async () => {
    const npx = await new Promise<Run>((done) =>
      execFile("npx", ["mono-auth", "--help"], { cwd: ROOT }, (error, stdout, stderr) =>
        done({ code: error ? 1 : 0, stdout, stderr }),
      ),
    );
    expect(npx.code).toBe(0);
    for (const noun of ["operator", "org", "client", "invite", "host"]) expect(npx.stdout).toContain(noun);

    const flags: Record<string, string[]> = {
      "operator bootstrap": ["--email", "--remote", "--persist-to", "--sql-out"],
      "org create": ["--name"],
      "client create": ["--org", "--name", "--type", "--auth", "--jwks", "--scopes", "--audiences"],
      "client list": ["--org"],
      "client rotate": ["--org", "--id"],
      "client disable": ["--org", "--id"],
      "invite create": ["--org", "--scopes", "--ttl", "--audiences", "--label"],
      "host bootstrap": ["--invite", "--out"],
    };
    for (const [command, expected] of Object.entries(flags)) {
      const help = await run([...command.split(" "), "--help"]);
      expect(help.code, command).toBe(0);
      for (const flag of [...expected, "--url", "--json", "--help"]) expect(help.stdout, command).toContain(flag);
    }
  });

  it("refuses admin commands before an operator exists, saying what to run", async () => {
    await refused(cli("org", "create", "--name", "Acme"), /no operator credentials .* operator bootstrap/);
  });

  it("operator bootstrap: prints the operator client's id and secret once and keeps them in a 0600 profile", async () => {
    const sql = join(dir, "operator.sql");
    const result = await json<Record<string, string>>(
      "operator",
      "bootstrap",
      "--email",
      "Ops@Example.com",
      "--sql-out",
      sql,
    );
    expect(result).toMatchObject({ issuer: system.origin, email: "ops@example.com", profile, sql_file: sql });
    expect(result.client_id).toMatch(/^mac_[A-Za-z0-9_-]{22,}$/);
    expect(result.client_secret).toMatch(/^mas_/);
    expect(statSync(profile).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(profile, "utf8")).operators[system.origin]).toMatchObject({
      client_id: result.client_id,
      client_secret: result.client_secret,
    });
    // What wrangler would run, applied through the harness's own D1 binding.
    for (const statement of readFileSync(sql, "utf8")
      .split(";\n")
      .filter((s) => s.trim())) {
      await system.execMain(statement);
    }
    const [operator] = await system.queryMain<Record<string, unknown>>(
      `SELECT c.org_id, c.scopes, c.audiences, c.auth_method, c.status, c.secret_hash, p.email
         FROM oauth_client c JOIN platform_operator p ON p.user_id = c.owner_user_id WHERE c.client_id = ?`,
      result.client_id,
    );
    expect(operator).toMatchObject({
      org_id: null,
      scopes: "admin",
      audiences: adminAudience(system.origin),
      auth_method: "client_secret_basic",
      status: "active",
      email: "ops@example.com",
    });
    expect(operator?.secret_hash).not.toContain(result.client_secret);
  });

  it("org create prints the org's id; org list shows it", async () => {
    const org = await json<{ id: string; name: string; slug: string }>("org", "create", "--name", "Acme Hosts");
    expect(org).toMatchObject({ name: "Acme Hosts", id: expect.any(String), slug: expect.any(String) });
    orgId = org.id;
    const listed = await json<{ orgs: { id: string }[] }>("org", "list");
    expect(listed.orgs.map((o) => o.id)).toContain(orgId);
    const table = await cli("org", "create", "--name", "Beta");
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^id +\S+$/m);
  });

  it("client create with a secret prints client_id and the secret once; the secret gets tokens", async () => {
    const created = await json<Record<string, unknown>>(
      "client",
      "create",
      "--org",
      orgId,
      "--name",
      "backup job",
      "--type",
      "machine",
      "--auth",
      "client_secret_basic",
      "--scopes",
      "documents:read",
    );
    expect(created).toMatchObject({
      org_id: orgId,
      client_name: "backup job",
      client_type: "machine",
      token_endpoint_auth_method: "client_secret_basic",
      scope: "documents:read",
      audiences: [`${system.origin}/api`],
      status: "active",
    });
    expect(created.client_id).toMatch(/^mac_/);
    expect(created.client_secret).toMatch(/^mas_/);
    const token = await clientCredentials(created.client_id as string, created.client_secret as string);
    expect(token.status).toBe(200);
  });

  it("client create for private_key_jwt takes --jwks and prints no secret; list, rotate and disable work", async () => {
    const { publicKey } = await generateKeyPair("ES256");
    const jwksFile = join(dir, "agent.jwks.json");
    writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256" }] }));
    const agent = await json<Record<string, unknown>>(
      ..."client create --type agent --auth private_key_jwt --scopes documents:read --name".split(" "),
      "an agent",
      "--org",
      orgId,
      "--jwks",
      jwksFile,
      "--audiences",
      `${system.origin}/api`,
    );
    expect(agent).toMatchObject({ token_endpoint_auth_method: "private_key_jwt", client_type: "agent" });
    expect(agent).not.toHaveProperty("client_secret");

    const machine = await json<{ client_id: string; client_secret: string }>(
      ..."client create --type machine --auth client_secret_post --scopes documents:read --name rotator --org".split(
        " ",
      ),
      orgId,
    );
    const listed = await json<{ clients: { client_id: string }[] }>("client", "list", "--org", orgId);
    expect(listed.clients.map((c) => c.client_id)).toEqual(
      expect.arrayContaining([agent.client_id, machine.client_id]),
    );

    const rotated = await json<{ client_id: string; client_secret: string }>(
      "client",
      "rotate",
      "--org",
      orgId,
      "--id",
      machine.client_id,
    );
    expect(rotated.client_id).toBe(machine.client_id);
    expect(rotated.client_secret).toMatch(/^mas_/);
    expect(rotated.client_secret).not.toBe(machine.client_secret);
    expect((await clientCredentials(machine.client_id, machine.client_secret, "post")).status).toBe(401);
    expect((await clientCredentials(machine.client_id, rotated.client_secret, "post")).status).toBe(200);

    const { publicKey: next } = await generateKeyPair("ES256");
    const nextJwks = join(dir, "agent-next.jwk.json");
    writeFileSync(nextJwks, JSON.stringify({ ...(await exportJWK(next)), kid: "k2", alg: "ES256" }));
    // Each method rotates only what it holds: a key client needs its new keys,
    // and keys given for a secret client are refused, its secret left as it was.
    await refused(
      cli("client", "rotate", "--org", orgId, "--id", agent.client_id as string),
      /^mono-auth: error: --jwks <file> is required: a private_key_jwt client is rotated by giving its new public keys\n$/,
    );
    await refused(
      cli("client", "rotate", "--org", orgId, "--id", machine.client_id, "--jwks", nextJwks),
      /^mono-auth: error: --jwks is only for a private_key_jwt client; this one uses client_secret_post/,
    );
    expect((await clientCredentials(machine.client_id, rotated.client_secret, "post")).status).toBe(200);
    const rekeyed = await json<{ jwks: { keys: { kid: string }[] } }>(
      ..."client rotate --org".split(" "),
      orgId,
      "--id",
      agent.client_id as string,
      "--jwks",
      nextJwks,
    );
    expect(rekeyed.jwks.keys.map((k) => k.kid)).toEqual(["k2"]);

    const disabled = await json<{ status: string }>("client", "disable", "--org", orgId, "--id", machine.client_id);
    expect(disabled.status).toBe("disabled");
    expect((await clientCredentials(machine.client_id, rotated.client_secret, "post")).status).toBe(401);
    const table = await cli("client", "list", "--org", orgId);
    expect(table.stdout).toMatch(new RegExp(`${machine.client_id} .*disabled`));
  });

  it("invite create prints a single-use invite for the org", async () => {
    const created = await json<Record<string, unknown>>(
      ..."invite create --scopes documents:read --ttl 1h --label role=web --label rack=r1 --org".split(" "),
      orgId,
    );
    expect(created).toMatchObject({
      org_id: orgId,
      scopes: ["documents:read"],
      labels: { role: "web", rack: "r1" },
      bootstrap_endpoint: `${system.origin}${ENDPOINT.hostBootstrap}`,
    });
    invite = created.invite as string;
    expect(invite.split(".")).toHaveLength(3);
  });

  it("host bootstrap redeems the invite, stores the key in a 0600 file, prints no key; the host then gets tokens", async () => {
    const out = join(dir, "host.json");
    const result = await run(["host", "bootstrap", "--invite", invite, "--out", out, "--json"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(printed).toMatchObject({
      org_id: orgId,
      issuer: system.origin,
      token_endpoint: `${system.origin}${ENDPOINT.token}`,
      credentials_file: out,
    });
    expect(printed.client_id).toMatch(/^mac_/);
    expect(result.stdout).not.toContain('"d"');

    expect(statSync(out).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(out, "utf8")) as {
      client_id: string;
      token_endpoint: string;
      private_jwk: JWK;
    };
    expect(stored.client_id).toBe(printed.client_id);
    expect(stored.private_jwk.d).toEqual(expect.any(String));

    // RFC 7523: the host authenticates with its new key.
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({ jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: "ES256", kid: stored.private_jwk.kid as string })
      .setIssuer(stored.client_id)
      .setSubject(stored.client_id)
      .setAudience(system.origin)
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(await importJWK(stored.private_jwk, "ES256"));
    const token = await fetch(stored.token_endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: GRANT_TYPE.clientCredentials,
        client_assertion_type: CLIENT_ASSERTION_TYPE_JWT_BEARER,
        client_assertion: assertion,
      }),
    });
    expect(token.status).toBe(200);
  });

  it("host bootstrap refuses a used invite with its code, and leaves no credentials file behind", async () => {
    const out = join(dir, "second-host.json");
    await refused(run(["host", "bootstrap", "--invite", invite, "--out", out, "--json"]), /invite_already_used/);
    expect(() => statSync(out)).toThrow();
    await refused(run(["host", "bootstrap", "--invite", "not-a-jwt"]), /--invite: not a JWT/);
    await refused(
      run(["host", "bootstrap", "--invite", "not.a.jwt", "--url", system.origin, "--out", out]),
      /400 invite_invalid/,
    );
    expect(() => statSync(out)).toThrow();
  });

  it("refuses bad input with a non-zero exit and a clear message on stderr", async () => {
    await refused(cli("client", "create", "--org", orgId, "--name", "x", "--type", "machine"), /required option/);
    await refused(
      cli(..."client create --name x --type robot --auth client_secret_basic --scopes a --org".split(" "), orgId),
      /argument 'robot' is invalid/,
    );
    await refused(
      cli(
        ..."client create --name x --type machine --auth private_key_jwt --scopes documents:read --org".split(" "),
        orgId,
      ),
      /--jwks <file> is required/,
    );
    await refused(
      cli(..."client create --name x --type machine --auth client_secret_basic --scopes admin --org".split(" "), orgId),
      /invalid_body.*admin/,
    );
    await refused(cli("invite", "create", "--org", orgId, "--scopes", "documents:read", "--ttl", "48h"), /at most 24h/);
    await refused(cli("invite", "create", "--org", orgId, "--scopes", "documents:read", "--ttl", "soon"), /--ttl/);
    await refused(cli("client", "list", "--org", "no-such-org"), /404 not_found/);
    await refused(run(["org", "list", "--url", "not a url", "--profile", profile]), /--url/);
    await refused(run(["org", "list", "--url", "http://localhost:9", "--profile", profile]), /no operator credentials/);
    await refused(cli("operator", "bootstrap", "--email", "not-an-email"), /--email/);
    await refused(cli("nonsense"), /unknown command/);
  });
});
