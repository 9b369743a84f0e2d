// DPoP-bound hosts through the CLI against the locally served system (RFC
// 9449 §5.2; DPOP_NONCE_REQUIRED on, as in production): `invite create
// --dpop`, `invite list` showing it, `host bootstrap` keeping a DPoP key in
// the 0600 credentials file, and `host token` getting DPoP tokens bound to
// that key; an unbound host gets bearer tokens until an operator makes its
// client require DPoP, and then switches by itself.
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { calculateJwkThumbprint, decodeJwt, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DpopSession, importDpopKey } from "../../cli/lib/dpop.ts";
import type { InviteView } from "../../shared/contracts/host-invites.ts";
import { type CliRun, runCli } from "../support/mono-auth-cli.ts";
import { type OperatorCli, operatorCli } from "../support/operator-cli.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

let system: RunningSystem;
let operator: OperatorCli;
let orgId: string;

beforeAll(async () => {
  system = await startSystem();
  operator = await operatorCli(system, "host-dpop");
  orgId = (await operator.json<{ id: string }>("org", "create", "--name", "Bound Hosts")).id;
});
afterAll(() => system?.close());

interface CreatedInvite {
  invite: string;
  jti: string;
  dpop_bound_access_tokens: boolean;
}

interface StoredHost {
  client_id: string;
  dpop_bound_access_tokens: boolean;
  private_jwk: JWK;
  dpop_private_jwk?: JWK;
}

interface HostToken {
  access_token: string;
  token_type: string;
  dpop_jkt?: string;
}

/** What a host runs, with no operator profile. */
const host = (...args: string[]): Promise<CliRun> => runCli([...args, "--json"], { cwd: operator.dir });

async function hostJson<T>(...args: string[]): Promise<T> {
  const result = await host(...args);
  expect(result.stderr, result.stderr).toBe("");
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as T;
}

const stored = (file: string) => JSON.parse(readFileSync(file, "utf8")) as StoredHost;

async function bootstrapped(name: string, flags: string[]): Promise<{ file: string; created: CreatedInvite }> {
  const created = await operator.json<CreatedInvite>(
    ...["invite", "create", "--org", orgId, "--scopes", "documents:read", "--label", `host=${name}`, ...flags],
  );
  const file = join(operator.dir, `${name}.json`);
  await hostJson("host", "bootstrap", "--invite", created.invite, "--url", system.origin, "--out", file);
  return { file, created };
}

describe("DPoP-bound hosts through the CLI (RFC 9449 §5.2)", () => {
  it("invite create --dpop makes a bound invite; invite list shows which are", async () => {
    const bound = await operator.json<CreatedInvite>(
      ...["invite", "create", "--org", orgId, "--scopes", "documents:read", "--dpop"],
    );
    const bearer = await operator.json<CreatedInvite>(
      ...["invite", "create", "--org", orgId, "--scopes", "documents:read"],
    );
    expect([bound.dpop_bound_access_tokens, bearer.dpop_bound_access_tokens]).toEqual([true, false]);
    const listed = await operator.json<{ invites: InviteView[] }>("invite", "list", "--org", orgId);
    expect(listed.invites.find((i) => i.jti === bound.jti)?.dpop_bound_access_tokens).toBe(true);
    expect(listed.invites.find((i) => i.jti === bearer.jti)?.dpop_bound_access_tokens).toBe(false);
    const table = await operator.cli("invite", "list", "--org", orgId, "--state", "pending");
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/\bdpop\b/);
    expect(table.stdout).toMatch(new RegExp(`${bound.jti} +pending +- +documents:read +required `));
    expect(table.stdout).toMatch(new RegExp(`${bearer.jti} +pending +- +documents:read +no `));
  });

  it("a bound host keeps its own DPoP key (0600) and host token gets DPoP tokens bound to it, worthless as Bearer", async () => {
    const { file } = await bootstrapped("bound-1", ["--dpop"]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const credentials = stored(file);
    expect(credentials.dpop_bound_access_tokens).toBe(true);
    expect(credentials.dpop_private_jwk?.d).toEqual(expect.any(String));
    const dpopKey = await importDpopKey(credentials.dpop_private_jwk as JWK);
    // Its own key, not the registered one that signs the client assertions.
    expect(dpopKey.jkt).not.toBe(await calculateJwkThumbprint(credentials.private_jwk));

    const token = await hostJson<HostToken>("host", "token", "--credentials", file);
    expect(token.token_type).toBe("DPoP");
    expect(token.dpop_jkt).toBe(dpopKey.jkt);
    expect(decodeJwt(token.access_token)).toMatchObject({ sub: credentials.client_id, cnf: { jkt: dpopKey.jkt } });
    // A second run reuses the key: the file is not rewritten with another.
    expect((await hostJson<HostToken>("host", "token", "--credentials", file)).dpop_jkt).toBe(dpopKey.jkt);
    expect(stored(file).dpop_private_jwk).toEqual(credentials.dpop_private_jwk);

    // RFC 9449 §7.1: at the gateway the token goes with a proof by that key; as a bearer token it is refused.
    const url = `${system.origin}/api/documents`;
    const asBearer = await fetch(url, { headers: { Authorization: `Bearer ${token.access_token}` } });
    expect(asBearer.status).toBe(401);
    expect(asBearer.headers.get("WWW-Authenticate")).toMatch(/^DPoP .*error="invalid_token"/);
    const refusal = (await asBearer.json()) as { error: string; error_description: string };
    expect(refusal.error).toBe("invalid_token");
    expect(refusal.error_description.startsWith("ERR_DPOP_SCHEME:")).toBe(true);
    const withProof = await new DpopSession(dpopKey).send(url, { method: "GET", headers: {} }, token.access_token);
    expect(withProof.status).toBe(200);
    expect(await withProof.json()).toMatchObject({ user_id: credentials.client_id });
  });

  it("a bound host whose file lost its DPoP key makes a new one and keeps it", async () => {
    const { file } = await bootstrapped("bound-2", ["--dpop"]);
    const { dpop_private_jwk: _lost, ...rest } = stored(file);
    writeFileSync(file, JSON.stringify(rest), { mode: 0o600 });
    const token = await hostJson<HostToken>("host", "token", "--credentials", file);
    expect(token.token_type).toBe("DPoP");
    const kept = stored(file).dpop_private_jwk;
    expect(kept?.d).toEqual(expect.any(String));
    expect(token.dpop_jkt).toBe((await importDpopKey(kept as JWK)).jkt);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("an unbound host gets bearer tokens; made to require DPoP later, it makes a key once and carries on", async () => {
    const { file } = await bootstrapped("bearer-1", []);
    expect(stored(file).dpop_bound_access_tokens).toBe(false);
    expect(stored(file).dpop_private_jwk).toBeUndefined();
    const bearer = await hostJson<HostToken>("host", "token", "--credentials", file);
    expect(bearer.token_type).toBe("Bearer");
    expect(bearer.dpop_jkt).toBeUndefined();
    expect(decodeJwt(bearer.access_token).cnf).toBeUndefined();

    await system.execMain("UPDATE oauth_client SET require_dpop = 1 WHERE client_id = ?", stored(file).client_id);
    const bound = await hostJson<HostToken>("host", "token", "--credentials", file);
    expect(bound.token_type).toBe("DPoP");
    const key = stored(file).dpop_private_jwk;
    expect(bound.dpop_jkt).toBe((await importDpopKey(key as JWK)).jkt);
    expect(decodeJwt(bound.access_token).cnf).toEqual({ jkt: bound.dpop_jkt });
  });

  it("host token refuses another issuer's --url and a bootstrap whose outcome is unknown, before sending anything", async () => {
    const { file } = await bootstrapped("bound-3", ["--dpop"]);
    const other = await host("host", "token", "--credentials", file, "--url", "https://elsewhere.example");
    expect(other.code).toBe(1);
    expect(other.stdout).toBe("");
    expect(other.stderr).toContain(`holds credentials for ${system.origin}, not https://elsewhere.example`);

    const pending = join(operator.dir, "pending.json");
    writeFileSync(pending, JSON.stringify({ ...stored(file), status: "pending" }), { mode: 0o600 });
    const unknown = await host("host", "token", "--credentials", pending);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe("");
    expect(unknown.stderr).toContain("whose outcome is unknown");
  });
});
