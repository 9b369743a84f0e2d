// A client assertion (RFC 7523) spent by a request that then issued nothing
// through no fault of the client's — 429 at its mint limit, 503 when a
// revocation could not be recorded — could not be resent: its `jti` stayed
// spent, so the retry RFC 6585 §4 and RFC 7009 §2.2.1 invite failed 401
// invalid_client. Such a request now gives the `jti` back
// (workers/token/src/replay/request-spends.ts, ReplayGuard `release`), and
// one assertion still never buys two tokens, concurrently or not.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { JWT_TYP } from "../../shared/contracts/tokens.ts";
import {
  assertionParams,
  clientAssertion,
  mintedToken,
  registerTestClient,
  setOrgPolicy,
  type TestClient,
} from "./clients-fixtures.ts";
import { AUDIENCE, expectOAuthError, formRequest, signWithOurKey, tokenRequest } from "./fixtures.ts";

const ALREADY_USED = "client assertion already used";

async function limitedClient(mintsPerMinute: number): Promise<TestClient> {
  const client = await registerTestClient({ authMethod: "private_key_jwt" });
  await setOrgPolicy(client.orgId as string, { mintsPerMinutePerClient: mintsPerMinute });
  return client;
}

/** The org's policy changed under the client (read from D1 on every mint, clients/org-policy.ts). */
async function raiseMintLimit(client: TestClient, mintsPerMinute: number): Promise<void> {
  await env.DB.prepare("UPDATE org_token_policy SET mints_per_minute_per_client = ? WHERE org_id = ?")
    .bind(mintsPerMinute, client.orgId)
    .run();
}

async function expectAlreadyUsed(response: Response): Promise<void> {
  const body = await expectOAuthError(response, 401, "invalid_client");
  expect(body.error_description).toBe(ALREADY_USED);
}

describe("a client assertion refused 429 at the client's mint limit (RFC 6585 §4) stays usable", () => {
  it("the same assertion buys a token once the limit allows, and is then refused 401 invalid_client", async () => {
    const client = await limitedClient(1);
    expect((await tokenRequest(assertionParams(await clientAssertion(client)))).status).toBe(200);
    const form = assertionParams(await clientAssertion(client));
    const limited = await tokenRequest(form);
    await expectOAuthError(limited, 429, "rate_limited");
    expect(Number(limited.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    await raiseMintLimit(client, 100);
    const retried = await tokenRequest(form);
    expect(retried.status).toBe(200);
    expect(((await retried.json()) as { access_token: string }).access_token).toBeTruthy();
    await expectAlreadyUsed(await tokenRequest(form));
  });

  it("20 concurrent requests with one assertion: none issued while limited, exactly one once the limit allows", async () => {
    const client = await limitedClient(1);
    expect((await tokenRequest(assertionParams(await clientAssertion(client)))).status).toBe(200);
    const form = assertionParams(await clientAssertion(client));
    const race = async () => {
      const responses = await Promise.all(Array.from({ length: 20 }, () => tokenRequest(form)));
      return Promise.all(
        responses.map(async (r) => ({ status: r.status, ...((await r.json()) as { error?: string }) })),
      );
    };
    // Limited: every holder of the `jti` is refused 429 and gives it back;
    // whoever came while it was held is refused as a replay.
    const limited = await race();
    expect(limited.filter((r) => r.status === 429).length).toBeGreaterThanOrEqual(1);
    for (const r of limited) {
      if (r.status === 429) expect(r.error).toBe("rate_limited");
      else expect(r).toMatchObject({ status: 401, error: "invalid_client", error_description: ALREADY_USED });
    }
    await raiseMintLimit(client, 100);
    const allowed = await race();
    expect(allowed.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of allowed.filter((r) => r.status !== 200)) {
      expect(r).toMatchObject({ status: 401, error: "invalid_client", error_description: ALREADY_USED });
    }
    await expectAlreadyUsed(await tokenRequest(form));
  });

  it("the limit raised in the middle of a race of 20: one token in all, counting a resend after it", async () => {
    const client = await limitedClient(1);
    expect((await tokenRequest(assertionParams(await clientAssertion(client)))).status).toBe(200);
    const form = assertionParams(await clientAssertion(client));
    const [statuses] = await Promise.all([
      Promise.all(Array.from({ length: 20 }, async () => (await tokenRequest(form)).status)),
      raiseMintLimit(client, 100),
    ]);
    const issued = statuses.filter((s) => s === 200).length;
    expect(issued).toBeLessThanOrEqual(1);
    expect(statuses.every((s) => s === 200 || s === 429 || s === 401)).toBe(true);
    // The race bought the token, or left the assertion to the resend.
    const resent = await tokenRequest(form);
    if (issued === 1) await expectAlreadyUsed(resent);
    else expect(resent.status).toBe(200);
  });

  it("a refusal that is the client's own (invalid_scope) keeps the assertion spent", async () => {
    const client = await limitedClient(100);
    const assertion = await clientAssertion(client);
    await expectOAuthError(await tokenRequest(assertionParams(assertion, { scope: "nope" })), 400, "invalid_scope");
    await expectAlreadyUsed(await tokenRequest(assertionParams(assertion)));
  });
});

describe("a client assertion refused 500 by the token endpoint's own failure stays usable", () => {
  it("a failure after the spend (the MintLimiter refusing a limit of 0, a row written around the admin API's min 1): the retry buys the token, once", async () => {
    const client = await limitedClient(0);
    const form = assertionParams(await clientAssertion(client));
    await expectOAuthError(await tokenRequest(form), 500, "server_error");
    await raiseMintLimit(client, 100);
    expect((await tokenRequest(form)).status).toBe(200);
    await expectAlreadyUsed(await tokenRequest(form));
  });
});

describe(`a client assertion refused 503 at ${ENDPOINT.revocation} (RFC 7009 §2.2.1) stays usable`, () => {
  it("the retry is answered 503 again, not invalid_client; a revocable token then revokes, and the assertion is spent", async () => {
    const client = await registerTestClient({ authMethod: "private_key_jwt" });
    const now = Math.floor(Date.now() / 1000);
    // A `jti` longer than the org's Durable Object records (256 characters): the real refusal to record.
    const unrecordable = await signWithOurKey(JWT_TYP.accessToken, {
      iss: env.ISSUER,
      sub: client.clientId,
      aud: AUDIENCE,
      iat: now,
      exp: now + 300,
      jti: `${crypto.randomUUID()}${"0".repeat(300)}`,
      client_id: client.clientId,
      org_id: client.orgId,
      scope: "documents:read",
    });
    const assertion = await clientAssertion(client);
    const revoke = (token: string) => formRequest(ENDPOINT.revocation, { ...assertionParams(assertion), token });
    const refused = await revoke(unrecordable);
    await expectOAuthError(refused, 503, "temporarily_unavailable");
    expect(refused.headers.get("Retry-After")).toBe("1");
    await expectOAuthError(await revoke(unrecordable), 503, "temporarily_unavailable");
    expect((await revoke(await mintedToken(client))).status).toBe(200);
    await expectAlreadyUsed(await revoke(await mintedToken(client)));
  });
});
