import { describe, expect, it } from "vitest";
import type { SavedTokenResult } from "../../shared/contracts/vault.ts";
import { retryOnUpstream401 } from "../../workers/gateway/src/vault/saved-token.ts";

// RFC 6750 §3.1: an upstream's 401 to the saved token means it was revoked or
// expired early; the gateway refreshes once and sends again, when it can.
describe("retryOnUpstream401", () => {
  const refreshed: SavedTokenResult = { ok: true, authorization: "Bearer fresh", connectionId: "vcn_1" };

  function run(first: Response, options: { replayable: boolean; refresh?: SavedTokenResult }) {
    const sent: string[] = [];
    let refreshes = 0;
    const response = retryOnUpstream401(first, {
      replayable: options.replayable,
      refresh: async () => {
        refreshes += 1;
        return options.refresh ?? refreshed;
      },
      send: async (authorization) => {
        sent.push(authorization);
        return new Response("again", { status: 200 });
      },
    });
    return { response, sent, refreshes: () => refreshes };
  }

  it("refreshes once and sends again with the new token", async () => {
    const r = run(new Response("no", { status: 401 }), { replayable: true });
    expect((await r.response).status).toBe(200);
    expect(r.sent).toEqual(["Bearer fresh"]);
    expect(r.refreshes()).toBe(1);
  });

  it("leaves any other answer alone", async () => {
    const r = run(new Response("ok", { status: 403 }), { replayable: true });
    expect((await r.response).status).toBe(403);
    expect(r.refreshes()).toBe(0);
  });

  it("does not resend a body it cannot replay", async () => {
    const r = run(new Response("no", { status: 401 }), { replayable: false });
    expect((await r.response).status).toBe(401);
    expect(r.refreshes()).toBe(0);
    expect(r.sent).toEqual([]);
  });

  it("answers the upstream's 401 when the refresh is refused", async () => {
    const r = run(new Response("no", { status: 401 }), {
      replayable: true,
      refresh: { ok: false, refusal: "saved_connection_expired" },
    });
    expect((await r.response).status).toBe(401);
    expect(r.sent).toEqual([]);
  });
});
