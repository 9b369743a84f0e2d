import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SSF_DELIVERY } from "../../shared/contracts/ssf.ts";
import { adminRequest, adminToken, expectHttpError, registerOperator } from "./admin-fixtures.ts";
import { expectOAuthError } from "./fixtures.ts";
import { createStream, receiverToken, registerReceiver, ssfRequest } from "./ssf-fixtures.ts";

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

/**
 * A plain `aud` (a receiver's URL, not a client id) is one org's while a
 * stream of that org names it (workers/token/src/ssf/stream-store.ts,
 * HELD_ELSEWHERE_SQL): a receiver told SETs under one `aud` cannot tell two
 * orgs' events apart, and the second org would choose what it is told.
 * Another org naming it is 409 conflict ERR_SSF_AUDIENCE_TAKEN, at
 * /ssf/streams and in the admin API, in any spelling that differs only in
 * case or a trailing `/`; the holder may name it again; once the holder's
 * last such stream is deleted, it is free.
 */
describe("SSF stream audience held by another org", () => {
  const body = (aud: unknown) => ({ aud, delivery: { method: SSF_DELIVERY.poll } });
  const freshReceiver = () => `https://rp-${crypto.randomUUID()}.example`;

  async function expectTaken(response: Response) {
    const refused = await expectOAuthError(response, 409, "conflict");
    expect(refused.error_description).toMatch(/^ERR_SSF_AUDIENCE_TAKEN: /);
  }

  it("refuses a second org's stream for a receiver URL the first org's stream serves, in every spelling", async () => {
    const holder = await registerReceiver();
    const holderToken = await receiverToken(holder);
    const other = await registerReceiver();
    const otherToken = await receiverToken(other);
    const receiver = freshReceiver();
    expect((await ssfRequest("POST", "/streams", holderToken, body(receiver))).status).toBe(201);

    for (const aud of [
      receiver,
      `${receiver}/`,
      receiver.toUpperCase(),
      [receiver],
      ["https://mine.example/ssf", receiver],
    ]) {
      await expectTaken(await ssfRequest("POST", "/streams", otherToken, body(aud)));
    }
    const operatorToken = await adminToken(await registerOperator());
    const byAdmin = await expectHttpError(
      await adminRequest("POST", `/orgs/${other.orgId}/ssf/streams`, { token: operatorToken, body: body(receiver) }),
      409,
      "conflict",
    );
    expect(byAdmin.error_description).toMatch(/^ERR_SSF_AUDIENCE_TAKEN: /);
    expect(await (await ssfRequest("GET", "/streams", otherToken)).json()).toEqual([]);

    // The holder may serve the same receiver with another stream; the other org a receiver of its own.
    expect((await ssfRequest("POST", "/streams", holderToken, body(receiver))).status).toBe(201);
    expect((await ssfRequest("POST", "/streams", otherToken, body(freshReceiver()))).status).toBe(201);
  });

  it("frees the receiver once the holder's last stream naming it is deleted", async () => {
    const holder = await registerReceiver();
    const holderToken = await receiverToken(holder);
    const other = await registerReceiver();
    const otherToken = await receiverToken(other);
    const receiver = freshReceiver();
    const first = await createStream(holderToken, { aud: receiver });
    const second = await createStream(holderToken, { aud: [receiver, "https://mine.example/ssf"] });

    expect((await ssfRequest("DELETE", `/streams?stream_id=${first}`, holderToken)).status).toBe(204);
    await expectTaken(await ssfRequest("POST", "/streams", otherToken, body(receiver)));
    expect((await ssfRequest("DELETE", `/streams?stream_id=${second}`, holderToken)).status).toBe(204);
    expect((await ssfRequest("POST", "/streams", otherToken, body(receiver))).status).toBe(201);
    await expectTaken(await ssfRequest("POST", "/streams", holderToken, body(receiver)));
  });

  it("two orgs claiming one receiver at once: one org gets it, every request of the other is 409", async () => {
    const [a, b] = await Promise.all([registerReceiver(), registerReceiver()]);
    const [aToken, bToken] = await Promise.all([receiverToken(a), receiverToken(b)]);
    const receiver = freshReceiver();
    const requests = [aToken, bToken, aToken, bToken, aToken, bToken].map((token) => ({
      token,
      answer: ssfRequest("POST", "/streams", token, body(receiver)),
    }));
    const answers = await Promise.all(requests.map(async ({ token, answer }) => ({ token, response: await answer })));
    const winners = new Set(answers.filter((a) => a.response.status === 201).map((a) => a.token));
    expect(winners.size).toBe(1);
    for (const { token, response } of answers) {
      if (!winners.has(token)) await expectTaken(response);
    }
    const listed = async (token: string) =>
      ((await (await ssfRequest("GET", "/streams", token)).json()) as unknown[]).length;
    expect([await listed(aToken), await listed(bToken)].sort()).toEqual([0, 3]);
  });

  it("another org's stream whose stored audience is damaged stops no create", async () => {
    const damagedOwner = await registerReceiver();
    const damaged = await createStream(await receiverToken(damagedOwner), { aud: freshReceiver() });
    await env.DB.prepare("UPDATE ssf_stream SET audience = ? WHERE stream_id = ?").bind("[not json", damaged).run();
    const other = await registerReceiver();
    expect((await ssfRequest("POST", "/streams", await receiverToken(other), body(freshReceiver()))).status).toBe(201);
  });
});
