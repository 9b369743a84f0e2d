import { describe, expect, it } from "vitest";
import {
  grantChainClientsFor,
  MAX_NAMED_CLIENT_ID_LENGTH,
  restingGrantClients,
} from "../../shared/revocation/grant-chain-clients.ts";

// What a token made from another carries as `grant_chain_clients`
// (shared/revocation/grant-chain-clients.ts): the client of each browser
// grant it rests on, or nothing when one's client is unknown, so the token
// stays under the conservative rule instead of a laxer one.

describe("restingGrantClients: the clients of the browser grants a token rests on", () => {
  it("a browser token's own grant is its client's", () => {
    expect(restingGrantClients({ client_id: "oidc_a", grant_id: "oidc-grant:g" })).toEqual({
      "oidc-grant:g": "oidc_a",
    });
  });

  it("a delegated token's chain says whose each is; delegation grants are nobody's", () => {
    const claims = {
      client_id: "mac_agent",
      grant_id: "dg_1",
      grant_chain: ["dg_0", "oidc-grant:g"],
      grant_chain_clients: { "oidc-grant:g": "oidc_a" },
    };
    expect(restingGrantClients(claims)).toEqual({ "oidc-grant:g": "oidc_a" });
    expect(restingGrantClients({ client_id: "mac_agent", grant_id: "dg_1", grant_chain: ["dg_0"] })).toEqual({});
  });

  it("a token acting for someone (`act`) with a browser grant as its own grant_id leaves it unknown", () => {
    const claims = { client_id: "mac_agent", grant_id: "oidc-grant:g", act: { sub: "mac_agent" } };
    expect(restingGrantClients(claims)).toBeUndefined();
  });

  it("a chain naming a browser grant without its client (signed before the claim) leaves them unknown", () => {
    const claims = { client_id: "mac_agent", grant_id: "dg_1", grant_chain: ["oidc-grant:g"] };
    expect(restingGrantClients(claims)).toBeUndefined();
  });
});

describe("grantChainClientsFor: the claim of a token minted resting on a chain", () => {
  const known = { "oidc-grant:g": "oidc_a", "oidc-grant:h": "oidc_b" };

  it("names the chain's browser grants and no other", () => {
    expect(grantChainClientsFor(["dg_1", "oidc-grant:h"], known)).toEqual({ "oidc-grant:h": "oidc_b" });
  });

  it("is left out when the chain names no browser grant, or one whose client is unknown", () => {
    expect(grantChainClientsFor(["dg_1"], known)).toBeUndefined();
    expect(grantChainClientsFor([], {})).toBeUndefined();
    expect(grantChainClientsFor(["oidc-grant:g"], undefined)).toBeUndefined();
    expect(grantChainClientsFor(["oidc-grant:g", "oidc-grant:x"], known)).toBeUndefined();
  });

  it("is left out when a client id is longer than the claim names (a long metadata document URL)", () => {
    const long = `https://client.example.test/${"c".repeat(MAX_NAMED_CLIENT_ID_LENGTH)}`;
    expect(grantChainClientsFor(["oidc-grant:g"], { "oidc-grant:g": long })).toBeUndefined();
    const longest = "c".repeat(MAX_NAMED_CLIENT_ID_LENGTH);
    expect(grantChainClientsFor(["oidc-grant:g"], { "oidc-grant:g": longest })).toEqual({ "oidc-grant:g": longest });
  });
});
