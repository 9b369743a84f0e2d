// An ID-JAG's `jti` is single use globally per issuer (the draft §4.4.1),
// held in the strongly consistent ReplayGuard. It was one object per
// issuer, so every redemption of one IdP's grants, org after org, queued on
// one object's thread: a hot spot at scale. The markers are sharded: one of
// ID_JAG_REPLAY_SHARDS objects per issuer, chosen by the jti's SHA-256
// (idJagReplayScope, shared/contracts/replay.ts), so one (issuer, jti)
// always lands on one object and single use still holds under concurrency.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ID_JAG_REPLAY_SHARDS, idJagReplayScope, replayGuardName } from "../../shared/contracts/replay.ts";
import { JWT_TYP } from "../../shared/contracts/tokens.ts";
import { createTestOrg, setOrgPolicy } from "./clients-fixtures.ts";
import { signWithOurKey } from "./fixtures.ts";
import { ISSUER, jagClaims, redeem } from "./id-jag-fixtures.ts";
import { registerAgent, seedMember } from "./token-exchange-fixtures.ts";

/** An org, a person and an agent: ID-JAGs of ours for the agent, with the `jti` the test picks. */
async function world() {
  const orgId = await createTestOrg();
  const userId = await seedMember(orgId);
  const agent = await registerAgent(orgId);
  // The client's mint budget is not what these measure.
  await setOrgPolicy(orgId, { mintsPerMinutePerClient: 100_000 });
  const idJag = (jti: string) => signWithOurKey(JWT_TYP.idJag, jagClaims(orgId, userId, agent.clientId, { jti }));
  return { agent, idJag };
}

/** The shard a jti's marker lives in: the number the scope names. */
async function shardOf(issuer: string, jti: string): Promise<string> {
  return (await idJagReplayScope(issuer, jti)).split(":")[1] ?? "";
}

/** `count` jtis that land in distinct shards of our issuer. */
async function jtisInDistinctShards(count: number): Promise<string[]> {
  const byShard = new Map<string, string>();
  while (byShard.size < count) {
    const jti = crypto.randomUUID();
    byShard.set(await shardOf(ISSUER, jti), jti);
  }
  return [...byShard.values()];
}

describe("ID-JAG jti markers: sharded per issuer by the jti", () => {
  it("one issuer's jtis spread over every shard, and one jti always picks the same one", async () => {
    const shards = new Set<string>();
    for (let i = 0; i < 64 * ID_JAG_REPLAY_SHARDS && shards.size < ID_JAG_REPLAY_SHARDS; i += 1) {
      shards.add(await shardOf(ISSUER, crypto.randomUUID()));
    }
    expect([...shards].map(Number).sort((a, b) => a - b)).toEqual(
      Array.from({ length: ID_JAG_REPLAY_SHARDS }, (_, i) => i),
    );
    const jti = crypto.randomUUID();
    expect(await idJagReplayScope(ISSUER, jti)).toBe(await idJagReplayScope(ISSUER, jti));
    // Another issuer's markers are never in ours.
    expect(await idJagReplayScope("https://idp.partner.example", jti)).not.toBe(await idJagReplayScope(ISSUER, jti));
  });

  it("a redemption spends the jti in its shard's object, and only there", async () => {
    const { agent, idJag } = await world();
    const [jti, other] = await jtisInDistinctShards(2);
    if (jti === undefined || other === undefined) throw new Error("no jtis");
    expect((await redeem(agent, await idJag(jti))).status).toBe(200);
    const exp = Math.floor(Date.now() / 1000) + 300;
    const own = env.REPLAY_GUARD.getByName(replayGuardName(await idJagReplayScope(ISSUER, jti)));
    // Already spent where the redemption put it…
    expect(await own.consume(jti, exp)).toBe(false);
    // …and not in another shard of the same issuer.
    const elsewhere = env.REPLAY_GUARD.getByName(replayGuardName(await idJagReplayScope(ISSUER, other)));
    expect(await elsewhere.consume(jti, exp)).toBe(true);
  });

  it("redeemed at once, many times each, ID-JAGs in different shards: exactly one token per jti", async () => {
    const { agent, idJag } = await world();
    const jtis = await jtisInDistinctShards(4);
    // Two ID-JAGs per jti (each signed anew: different bytes, one jti), 40 redemptions of each jti, all interleaved.
    const grants = await Promise.all(jtis.flatMap((jti) => [idJag(jti), idJag(jti)]));
    const attempts = Array.from({ length: 20 }, () => grants.map((grant, i) => ({ jti: jtis[i >> 1], grant }))).flat();
    const responses = await Promise.all(attempts.map(({ grant }) => redeem(agent, grant)));
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as { error?: string }[];
    for (const jti of jtis) {
      const answers = attempts.flatMap((attempt, i) =>
        attempt.jti === jti ? [[responses[i]?.status, bodies[i]?.error] as const] : [],
      );
      expect(answers).toHaveLength(40);
      expect(answers.filter(([status]) => status === 200)).toHaveLength(1);
      expect(answers.filter(([status, error]) => status === 400 && error === "invalid_grant")).toHaveLength(39);
    }
  }, 120_000);
});
