// The vault's connection flow spends its `state` once (RFC 6749 §10.12;
// vault/connect-flow.ts completeConnect: one conditional DELETE): of many
// callbacks carrying the same state at once, exactly one exchanges the code
// at the provider and saves the connection; every other is 400 invalid_state.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { expectOAuthError, seedSession } from "./fixtures.ts";
import {
  atProvider,
  callback,
  createProvider,
  routeUpstream,
  startAsUser,
  upstreamRequests,
} from "./vault-fixtures.ts";

beforeEach(() => routeUpstream());
afterEach(() => vi.restoreAllMocks());

const RACERS = 20;

describe("vault callback state under concurrency", () => {
  it("of 20 concurrent callbacks with one state, exactly one saves; the provider sees one code exchange", async () => {
    const s = await seedSession();
    const provider = await createProvider(s.orgId);
    const back = await atProvider(await startAsUser(s, provider.name));

    const answers = await Promise.all(Array.from({ length: RACERS }, () => callback(back, s)));
    const won = answers.filter((a) => a.status === 200);
    expect(won).toHaveLength(1);
    for (const lost of answers.filter((a) => a.status !== 200)) await expectOAuthError(lost, 400, "invalid_state");
    const exchanges = (await upstreamRequests(provider.name)).filter((r) => r.grant_type === "authorization_code");
    expect(exchanges).toHaveLength(1);
  });
});
