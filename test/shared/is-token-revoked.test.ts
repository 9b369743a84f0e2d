import { describe, expect, it } from "vitest";
import {
  clientSubjectValue,
  parseClientSubjectValue,
  type RevocableClaims,
  type RevocationEntry,
  type RevocationKind,
} from "../../shared/contracts/revocation.ts";
import { entryRevokes, isTokenRevoked } from "../../shared/revocation/is-token-revoked.ts";

// The shared rule (shared/revocation/is-token-revoked.ts) for the
// `client_subject` cut-off a fold of one person's browser-grant entries for
// one client records, and for kinds it does not know: those refuse, since
// what they cut off cannot be told.

const AT = 1_900_000_000;

function claims(overrides: Partial<RevocableClaims> = {}): RevocableClaims {
  return { jti: "j", sub: "user_a", client_id: "oidc_a", org_id: "org", iat: AT - 10, ...overrides };
}

function cutOff(value: string, kind: RevocationKind = "client_subject"): RevocationEntry {
  return { kind, value, revokedAt: AT, expiresAt: AT + 3600 };
}

describe("client_subject values", () => {
  it("one JSON pair per (client, person), read back exactly; anything else names no pair", () => {
    expect(clientSubjectValue("oidc_a", "user_a")).toBe('["oidc_a","user_a"]');
    // Ids that hold the other's separators still make distinct values.
    const tricky = [
      ["a", 'b","c'],
      ['a","b', "c"],
      ["a:b", "c"],
      ["a", "b:c"],
    ] as const;
    const values = tricky.map(([c, s]) => clientSubjectValue(c, s));
    expect(new Set(values).size).toBe(tricky.length);
    for (const [c, s] of tricky) {
      expect(parseClientSubjectValue(clientSubjectValue(c, s))).toEqual({ clientId: c, subject: s });
    }
    for (const bad of [
      "oidc_a:user_a",
      '["oidc_a"]',
      '["oidc_a","user_a","x"]',
      '[ "oidc_a", "user_a" ]',
      '["","u"]',
      '["c",1]',
      "{}",
    ]) {
      expect({ bad, parsed: parseClientSubjectValue(bad) }).toEqual({ bad, parsed: null });
    }
  });
});

describe("entryRevokes: a client_subject cut-off", () => {
  const entry = cutOff(clientSubjectValue("oidc_a", "user_a"));
  const delegated = { act: { sub: "mac_agent", client_id: "mac_agent" }, client_id: "mac_agent", grant_id: "dg_1" };
  const cases: [string, Partial<RevocableClaims>, boolean][] = [
    ["the person at the client", {}, true],
    ["at the cut-off's second", { iat: AT }, true],
    ["after it", { iat: AT + 1 }, false],
    ["the person at another client", { client_id: "oidc_b" }, false],
    ["another person at the client", { sub: "user_b" }, false],
    ["narrowed at the client, resting on a browser grant", { grant_chain: ["oidc-grant:g"] }, true],
    [
      "narrowed at another client, resting on its browser grant",
      { client_id: "oidc_b", grant_chain: ["oidc-grant:g"] },
      false,
    ],
    // Signed before `grant_chain_clients`: whose grant it rests on is unknown, so any cut-off of the person refuses it.
    ["delegated from a browser grant, old shape", { ...delegated, grant_chain: ["dg_0", "oidc-grant:g"] }, true],
    [
      "delegated from the person's browser grant at the client",
      { ...delegated, grant_chain: ["dg_0", "oidc-grant:g"], grant_chain_clients: { "oidc-grant:g": "oidc_a" } },
      true,
    ],
    [
      "delegated from the person's browser grant at another client",
      { ...delegated, grant_chain: ["dg_0", "oidc-grant:g"], grant_chain_clients: { "oidc-grant:g": "oidc_b" } },
      false,
    ],
    [
      "delegated from browser grants at two clients, one the cut-off's",
      {
        ...delegated,
        grant_chain: ["oidc-grant:g", "oidc-grant:h"],
        grant_chain_clients: { "oidc-grant:g": "oidc_b", "oidc-grant:h": "oidc_a" },
      },
      true,
    ],
    [
      "delegated from the person's browser grant at the client, after the cut-off",
      { ...delegated, grant_chain: ["oidc-grant:g"], grant_chain_clients: { "oidc-grant:g": "oidc_a" }, iat: AT + 1 },
      false,
    ],
    [
      "delegated from another person's browser grant at the client",
      { ...delegated, grant_chain: ["oidc-grant:g"], grant_chain_clients: { "oidc-grant:g": "oidc_a" }, sub: "user_b" },
      false,
    ],
    [
      "delegated from a browser grant, after the cut-off",
      { ...delegated, grant_chain: ["oidc-grant:g"], iat: AT + 1 },
      false,
    ],
    ["delegated from delegation grants only", { ...delegated, grant_chain: ["dg_0"] }, false],
    ["delegated, no chain", { ...delegated }, false],
    [
      "delegated from a browser grant, another person",
      { ...delegated, grant_chain: ["oidc-grant:g"], sub: "user_b" },
      false,
    ],
  ];
  for (const [name, overrides, expected] of cases) {
    it(`${name}: ${expected ? "refused" : "kept"}`, () => {
      expect(entryRevokes(entry, claims(overrides))).toBe(expected);
    });
  }

  it("is found among a snapshot's entries", () => {
    const snapshot = { orgId: "org", version: 1, policyVersion: null, entries: [entry] };
    expect(isTokenRevoked(snapshot, claims())).toBe(true);
    expect(isTokenRevoked(snapshot, claims({ client_id: "oidc_b" }))).toBe(false);
  });
});

describe("entryRevokes: what it cannot read refuses", () => {
  it("a kind it does not know refuses every token (a newer object's), and so does a client_subject value naming no pair", () => {
    expect(entryRevokes(cutOff("x", "person_at_device" as RevocationKind), claims())).toBe(true);
    expect(entryRevokes(cutOff("oidc_a:user_a"), claims())).toBe(true);
  });
});
