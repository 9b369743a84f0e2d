// The `mono-auth` CLI as the operator of a client that requires DPoP (RFC
// 9449) against the locally served system, where DPOP_NONCE_REQUIRED is on
// as in production: `operator bootstrap --dpop`, the switch to DPoP when an
// existing operator client is made to require it, the nonce retries (§8 at
// the token endpoint, §9 at the admin API), and what the CLI's bound token
// is worth without its key.
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { decodeJwt, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminAudience, ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { SCOPE } from "../../shared/contracts/scopes.ts";
import { GRANT_TYPE } from "../../shared/contracts/tokens.ts";
import { type DpopKey, DpopSession, generateDpopKey, importDpopKey } from "../../cli/lib/dpop.ts";
import { type OperatorCli, operatorCli } from "../support/operator-cli.ts";
import { type RunningSystem, startSystem } from "../support/system.ts";

let system: RunningSystem;

beforeAll(async () => {
  system = await startSystem();
});
afterAll(() => system?.close());

interface StoredOperator {
  client_id: string;
  client_secret: string;
  dpop_private_jwk?: JWK;
}

function storedOperator(operator: OperatorCli): StoredOperator {
  const document = JSON.parse(readFileSync(operator.profile, "utf8")) as { operators: Record<string, StoredOperator> };
  const stored = document.operators[system.origin];
  if (!stored) throw new Error(`no operator for ${system.origin} in ${operator.profile}`);
  return stored;
}

async function requireDpop(clientId: string): Promise<void> {
  await system.execMain("UPDATE oauth_client SET require_dpop = 1 WHERE client_id = ?", clientId);
}

/** The CLI's token request, through its DPoP session: client_credentials for the admin API. */
async function boundAdminToken(operator: StoredOperator, session: DpopSession): Promise<string> {
  const response = await session.send(`${system.origin}${ENDPOINT.token}`, {
    method: "POST",
    headers: {
      Authorization: `Basic ${btoa(`${operator.client_id}:${operator.client_secret}`)}`,
      "Content-Type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({
      grant_type: GRANT_TYPE.clientCredentials,
      scope: SCOPE.admin,
      resource: adminAudience(system.origin),
    }),
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { access_token: string; token_type: string };
  expect(body.token_type).toBe("DPoP");
  return body.access_token;
}

/** The admin API's RFC 9449 refusal: 401, the `DPoP` challenge and body naming the error, and the ERR_DPOP code. */
async function expectRefusal(response: Response, error: string, code: string): Promise<void> {
  expect(response.status).toBe(401);
  const challenge = response.headers.get("WWW-Authenticate") ?? "";
  expect(challenge.startsWith("DPoP ")).toBe(true);
  expect(challenge).toContain(`error="${error}"`);
  const body = (await response.json()) as { error: string; error_description: string };
  expect(body.error).toBe(error);
  expect(body.error_description.startsWith(`${code}:`)).toBe(true);
}

describe("the mono-auth CLI with DPoP (RFC 9449)", () => {
  it("operator bootstrap --dpop registers a client that requires DPoP; admin commands run as it", async () => {
    const operator = await operatorCli(system, "dpop-bootstrap", ["--dpop"]);
    const stored = storedOperator(operator);
    expect(stored.dpop_private_jwk?.d).toBeTruthy();
    expect(statSync(operator.profile).mode & 0o777).toBe(0o600);
    const [row] = await system.queryMain<{ require_dpop: number }>(
      "SELECT require_dpop FROM oauth_client WHERE client_id = ?",
      stored.client_id,
    );
    expect(row?.require_dpop).toBe(1);
    const org = await operator.json<{ id: string }>("org", "create", "--name", "Bound");
    const orgs = await operator.json<{ orgs: { id: string }[] }>("org", "list");
    expect(orgs.orgs.map((o) => o.id)).toContain(org.id);
  });

  it("an operator client made to require DPoP later: the CLI makes a key once, keeps it, and carries on", async () => {
    const operator = await operatorCli(system, "dpop-switch");
    await operator.json("keys", "list");
    expect(storedOperator(operator).dpop_private_jwk).toBeUndefined();
    await requireDpop(storedOperator(operator).client_id);
    // Bearer tokens are refused for it now; the CLI proves possession instead.
    await operator.json("keys", "list");
    const key = storedOperator(operator).dpop_private_jwk;
    expect(key?.d).toBeTruthy();
    expect(statSync(operator.profile).mode & 0o777).toBe(0o600);
    await operator.json("org", "list");
    expect(storedOperator(operator).dpop_private_jwk).toEqual(key);
  });

  it("the token is bound to the profile's key; a stale nonce at the admin API costs one retry (§9)", async () => {
    const operator = await operatorCli(system, "dpop-nonce", ["--dpop"]);
    const stored = storedOperator(operator);
    const key = await importDpopKey(stored.dpop_private_jwk as JWK);
    // No nonce yet: the token endpoint's use_dpop_nonce (§8) is answered by the retry.
    const token = await boundAdminToken(stored, new DpopSession(key));
    expect(decodeJwt(token).cnf).toEqual({ jkt: key.jkt });
    // A well-formed nonce of a window long gone: refused use_dpop_nonce, then the retry carries the new one.
    const stale = new DpopSession(key, `1.${"A".repeat(43)}`);
    const keys = await stale.send(`${system.origin}${ENDPOINT.admin}/keys`, { method: "GET", headers: {} }, token);
    expect(keys.status).toBe(200);
  });

  it("the CLI's bound token is nothing without its key: as Bearer, without a proof, or with another key's", async () => {
    const operator = await operatorCli(system, "dpop-stolen", ["--dpop"]);
    const stored = storedOperator(operator);
    const session = new DpopSession(await importDpopKey(stored.dpop_private_jwk as JWK));
    const token = await boundAdminToken(stored, session);
    const url = `${system.origin}${ENDPOINT.admin}/keys`;
    expect((await session.send(url, { method: "GET", headers: {} }, token)).status).toBe(200);

    await expectRefusal(
      await fetch(url, { headers: { Authorization: `Bearer ${token}` } }),
      "invalid_token",
      "ERR_DPOP_SCHEME",
    );
    await expectRefusal(
      await fetch(url, { headers: { Authorization: `DPoP ${token}` } }),
      "invalid_dpop_proof",
      "ERR_DPOP_MISSING",
    );
    // The thief's session answers the nonce challenge as the CLI's does, so only the key is wrong.
    const thief: DpopKey = (await generateDpopKey()).key;
    await expectRefusal(
      await new DpopSession(thief).send(url, { method: "GET", headers: {} }, token),
      "invalid_token",
      "ERR_DPOP_KEY_BINDING",
    );
  });

  it("a profile whose DPoP key is not a P-256 private key is refused before anything is sent", async () => {
    const operator = await operatorCli(system, "dpop-broken", ["--dpop"]);
    const document = JSON.parse(readFileSync(operator.profile, "utf8")) as {
      operators: Record<string, StoredOperator>;
    };
    const stored = document.operators[system.origin] as StoredOperator;
    const { d: _private, ...publicOnly } = stored.dpop_private_jwk as JWK;
    stored.dpop_private_jwk = publicOnly;
    writeFileSync(operator.profile, JSON.stringify(document));
    const result = await operator.cli("keys", "list");
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/the profile's DPoP key is not an EC P-256 private key/);
  });
});
