// Concurrent requests that all find a piece of isolate state missing (an
// org's revocation view, its policy) share one load; the first request does
// the I/O, the others take its result as data (shared/isolate/single-flight.ts).
// Under wrangler dev's workerd the waiters used to await the loader's
// promise, and some bursts of them then answered 500 ("Cannot perform I/O on
// behalf of a different request"): 3–9 of ~6,000 in the gateway bench. This
// runtime's workerd did not fail that way; the test pins what every request
// of such a burst must get: 200 and its own answer.
import { beforeAll, describe, expect, it } from "vitest";
import { ENDPOINT } from "../../shared/contracts/endpoints.ts";
import { gatewayFetch, memberClaims, type TestSigner, testSigner } from "./signed-token.ts";

const URL_DOCS = `http://localhost:8787${ENDPOINT.documents}`;
const CONCURRENT = 10;

let signer: TestSigner;

beforeAll(async () => {
  signer = await testSigner();
  await signer.publish();
});

describe("gateway: concurrent requests sharing one load", () => {
  it("every request of a burst on an org this isolate has never seen answers 200 with its own body", async () => {
    const orgId = `org-${crypto.randomUUID()}`;
    const tokens = await Promise.all(
      Array.from({ length: CONCURRENT }, (_, i) => signer.sign(memberClaims({ org_id: orgId, sub: `user-${i}` }))),
    );
    const responses = await Promise.all(
      tokens.map((token) => gatewayFetch(URL_DOCS, { headers: { Authorization: `Bearer ${token}` } })),
    );
    const bodies = await Promise.all(responses.map(async (r) => ({ status: r.status, body: await r.text() })));
    expect(bodies.map((b) => b.status)).toEqual(Array(CONCURRENT).fill(200));
    expect(bodies.map((b) => (JSON.parse(b.body) as { user_id: string }).user_id)).toEqual(
      tokens.map((_, i) => `user-${i}`),
    );
  });
});
