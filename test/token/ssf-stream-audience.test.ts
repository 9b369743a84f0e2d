import { describe, expect, it } from "vitest";
import { SSF_DELIVERY } from "../../shared/contracts/ssf.ts";
import { adminRequest, adminToken, expectHttpError, registerOperator } from "./admin-fixtures.ts";
import { expectOAuthError } from "./fixtures.ts";
import { receiverToken, registerReceiver, ssfRequest } from "./ssf-fixtures.ts";

/**
 * A stream's `aud` identifies its receiver (SSF 1.0 §8.1.1; RFC 8417 §2.2):
 * a receiver that checks our signature, `iss` and its own `aud` takes a SET
 * as addressed to it. A receiver's `aud` is its client id unless it names
 * another, so a stream of another org naming that client id would have us
 * sign that org's events (any subject its admins revoke) as that receiver's.
 */
describe("SSF stream audience (SSF 1.0 §8.1.1)", () => {
  it("refuses an aud naming another org's client, at /ssf/streams and the admin API", async () => {
    const victim = await registerReceiver();
    const attacker = await registerReceiver();
    const attackerToken = await receiverToken(attacker);
    const body = (aud: unknown) => ({ aud, delivery: { method: SSF_DELIVERY.poll } });

    for (const aud of [victim.clientId, ["https://mine.example/ssf", victim.clientId]]) {
      const refused = await expectOAuthError(
        await ssfRequest("POST", "/streams", attackerToken, body(aud)),
        400,
        "invalid_body",
      );
      expect(refused.error_description).toMatch(/^aud: /);
    }
    const operatorToken = await adminToken(await registerOperator());
    await expectHttpError(
      await adminRequest("POST", `/orgs/${attacker.orgId}/ssf/streams`, {
        token: operatorToken,
        body: body(victim.clientId),
      }),
      400,
      "invalid_body",
    );
    // A platform client is no org's receiver to name either.
    const platformClient = await registerOperator();
    await expectOAuthError(
      await ssfRequest("POST", "/streams", attackerToken, body(platformClient.clientId)),
      400,
      "invalid_body",
    );
    expect(await (await ssfRequest("GET", "/streams", attackerToken)).json()).toEqual([]);

    // Its own client id, a client of its own org, or a receiver URL of its choosing stay allowed.
    const sibling = await registerReceiver(attacker.orgId as string);
    for (const aud of [attacker.clientId, sibling.clientId, "https://rp.attacker.example/ssf"]) {
      expect((await ssfRequest("POST", "/streams", attackerToken, body(aud))).status).toBe(201);
    }
  });
});
