import { describe, expect, it } from "vitest";
import { stripUntrustedHeaders } from "../../workers/gateway/src/forward/strip-untrusted-headers.ts";

describe("stripUntrustedHeaders", () => {
  it("drops every spelling of the trusted headers", () => {
    const inbound = new Headers([
      ["X-User-ID", "a"],
      ["x-user-id", "b"],
      ["X_User_ID", "c"],
      ["x_org_id", "d"],
      ["X-ACTOR-ID", "e"],
      ["x-abac_filter", "{}"],
      ["X-Gateway-Assertion", "f"],
      ["Accept", "application/json"],
    ]);
    const out = stripUntrustedHeaders(inbound, { keepAuthorization: false });
    expect([...out.keys()]).toEqual(["accept"]);
  });

  it("drops headers named in Connection, and hop-by-hop headers", () => {
    const inbound = new Headers({
      Connection: "close, X-Keep-Me-Not , x-request-id",
      "X-Keep-Me-Not": "1",
      "X-Request-Id": "2",
      "Keep-Alive": "timeout=5",
      TE: "trailers",
      "X-Other": "3",
    });
    expect([...stripUntrustedHeaders(inbound, { keepAuthorization: false }).keys()]).toEqual(["x-other"]);
  });

  it("keeps Authorization only where asked", () => {
    const inbound = new Headers({ Authorization: "Basic abc" });
    expect(stripUntrustedHeaders(inbound, { keepAuthorization: false }).has("authorization")).toBe(false);
    expect(stripUntrustedHeaders(inbound, { keepAuthorization: true }).get("authorization")).toBe("Basic abc");
  });
});
