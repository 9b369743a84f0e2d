import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { GATEWAY_CHANNEL_PATH, SUBSCRIBER_CREDENTIAL_HEADER } from "../../shared/contracts/revocation.ts";
import { orgStateName } from "../../shared/contracts/storage-keys.ts";

const stub = (orgId: string) => env.ORG_STATE.getByName(orgStateName(orgId));
const newOrg = () => `org-${crypto.randomUUID()}`;

/** Claims whose shape the checks at every revocation cannot read (publish walks derived_from, act). */
function malformedClaims(org: string): Record<string, unknown>[] {
  const base = { jti: "t1", sub: "u1", client_id: "c1", org_id: org, iat: 1 };
  return [
    { ...base, derived_from: 5 },
    { ...base, derived_from: [null] },
    { ...base, grant_chain: "g1" },
    { sub: "u1", iat: 1 },
  ];
}

describe("OrgState: a subscriber credential the fan-out could not read is refused at connect", () => {
  it("answers 400 invalid_body, and the next revocation is recorded and reaches the gateway channels", async () => {
    const org = newOrg();
    const channel = await stub(org).fetch(`https://org-state${GATEWAY_CHANNEL_PATH}?after=0`, {
      headers: { Upgrade: "websocket" },
    });
    const gateway = channel.webSocket;
    if (!gateway) throw new Error("no gateway channel");
    const heard: string[] = [];
    gateway.addEventListener("message", (event) => heard.push(String(event.data)));
    gateway.accept();
    for (const claims of malformedClaims(org)) {
      const credential = JSON.stringify({ until: Math.floor(Date.now() / 1000) + 600, claims });
      for (const headers of [{ Upgrade: "websocket" }, { Accept: "text/event-stream" }] as Record<string, string>[]) {
        const response = await stub(org).fetch("https://org-state/revocations/stream", {
          headers: { ...headers, [SUBSCRIBER_CREDENTIAL_HEADER]: credential },
        });
        expect(response.status, credential).toBe(400);
        expect(await response.json()).toMatchObject({ error: "invalid_body" });
      }
    }
    // Accepted, such a subscriber threw inside every publish: the revoke that had just committed answered an
    // error (its caller's owed cut-off never cleared), and no gateway channel heard of it.
    expect(await stub(org).revoke({ orgId: org, kind: "jti", value: "t9", reason: "t" })).toBe(1);
    await expect
      .poll(() => heard.map((frame) => JSON.parse(frame) as { type: string; seq?: number }))
      .toContainEqual(expect.objectContaining({ type: "revocation", seq: 1 }));
    gateway.close();
  });
});
